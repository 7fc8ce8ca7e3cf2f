import type { Finding } from './findings';
import type { FindingsFacts } from './findings-facts';
import type { FleetRecord } from './fleet-record';
import { imageId } from './image-ref';
import type { VerdictValue } from './verdict';

/** `search CVE-…` or `search --package NAME[@VERSION]`. */
export type SearchQuery =
  | { kind: 'finding'; id: string }
  | { kind: 'package'; name: string; version?: string };

export interface SearchHit {
  image: string;
  repository: string;
  tags: string[];
  verdict: VerdictValue;
  /** The manifest the finding is in (a platform of an index, or the image itself). */
  manifest: string;
  finding: string;
  severity: string;
  package?: string;
  fixedIn?: string;
  /** The remediation deadline running on this finding, else the digest's earliest one. */
  deadline?: string;
}

function matches(finding: Finding, query: SearchQuery): boolean {
  if (query.kind === 'finding') return finding.id.toUpperCase() === query.id.toUpperCase();
  const pkg = finding.package;
  if (!pkg || pkg.name !== query.name) return false;
  return query.version === undefined || pkg.version === query.version;
}

/**
 * False when findings encoded by encodeFindings surely hold no match for `query`: each id
 * and package name is written there as its JSON string. A search decodes only the facts
 * this lets through (most digests carry neither the CVE nor the package asked for).
 */
export function mayMatch(encoded: string, query: SearchQuery): boolean {
  // Case folds character by character and JSON escapes have no case: the id's JSON form,
  // upper-cased, is in the upper-cased text whenever a row's id matches.
  if (query.kind === 'finding')
    return encoded.toUpperCase().includes(JSON.stringify(query.id).toUpperCase());
  return encoded.includes(JSON.stringify(query.name));
}

/** The hits of one stored facts entry, for the current record that names it. */
export function searchFacts(
  record: FleetRecord,
  facts: FindingsFacts,
  query: SearchQuery,
): SearchHit[] {
  return facts.findings
    .filter((f) => matches(f, query))
    .map((f) => {
      const deadline =
        record.reasons.find((r) => r.deadline && r.findings?.includes(f.id))?.deadline ??
        record.deadline;
      return {
        image: imageId(record),
        repository: `${record.registry}/${record.repository}`,
        tags: record.tags,
        verdict: record.verdict,
        manifest: facts.key.digest,
        finding: f.id,
        severity: f.severity,
        ...(f.package && {
          package: `${f.package.name}${f.package.version ? `@${f.package.version}` : ''}`,
        }),
        ...(f.fixedIn && { fixedIn: f.fixedIn }),
        ...(deadline && { deadline }),
      };
    });
}
