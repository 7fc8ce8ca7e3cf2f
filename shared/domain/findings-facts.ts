import { createHash } from 'node:crypto';
import * as z from 'zod';
import { InvalidFindingsError } from './errors';
import {
  compact,
  type Finding,
  type ScanFindings,
  type Scanner,
  type ScannerTraits,
} from './findings';
import type { ImageKey } from './image-ref';
import { SEVERITIES } from './severity';

/**
 * The normalised findings one manifest was judged on, keyed by the scan that produced them
 * (DESIGN §5, Facts). For an image index there is one per platform manifest.
 */
export interface FindingsFacts {
  /** The judged manifest: the image itself, or one platform manifest of an index. */
  key: ImageKey;
  scanner: Scanner;
  completedAt: string;
  /** The scanner's status word (COMPLETE, ACTIVE) and description, as the scan reported them. */
  status: string;
  description?: string;
  vulnerabilitySourceUpdatedAt?: string;
  /** As evaluation reads them, less `title` (the scanner's prose: most of the bytes, never judged). */
  findings: Finding[];
}

/** What a verdict names of the facts it was judged on (one per judged manifest). */
export interface FactsRef {
  digest: string;
  scanner: Scanner;
  completedAt: string;
  /** sha256 (hex, 32 characters) of the encoded findings. */
  hash: string;
  count: number;
}

/** Facts are kept of complete scans only: other states carry no findings to keep. */
export function factsOfScan(key: ImageKey, scan: ScanFindings): FindingsFacts | undefined {
  if (scan.state !== 'complete' || !scan.completedAt) return undefined;
  return compact({
    key,
    scanner: scan.scanner,
    completedAt: scan.completedAt,
    status: scan.status,
    description: scan.description,
    vulnerabilitySourceUpdatedAt: scan.vulnerabilitySourceUpdatedAt,
    findings: scan.findings.map(factFinding),
  });
}

/** A finding as facts keep it: `title` left out. */
export function factFinding(finding: Finding): Finding {
  const { title: _title, ...kept } = finding;
  return kept;
}

/** The scan the facts stand for, as a fresh read would give it (less titles). */
export function scanOfFacts(facts: FindingsFacts): ScanFindings {
  return compact({
    state: 'complete',
    status: facts.status,
    description: facts.description,
    scanner: facts.scanner,
    completedAt: facts.completedAt,
    vulnerabilitySourceUpdatedAt: facts.vulnerabilitySourceUpdatedAt,
    findings: facts.findings,
  }) as ScanFindings;
}

export function factsRefOf(facts: FindingsFacts): FactsRef {
  return {
    digest: facts.key.digest,
    scanner: facts.scanner,
    completedAt: facts.completedAt,
    hash: findingsHash(encodeFindings(facts.findings)),
    count: facts.findings.length,
  };
}

export function findingsHash(encoded: string): string {
  return createHash('sha256').update(encoded).digest('hex').slice(0, 32);
}

export function sameRef(a: FactsRef, b: FactsRef): boolean {
  return (
    a.digest === b.digest &&
    a.scanner === b.scanner &&
    a.completedAt === b.completedAt &&
    a.hash === b.hash
  );
}

/**
 * The facts a verdict names for one manifest, when the registry reports no other scan of it
 * (docs/rescans.md, Facts): the listed scan time is the stored one; or the listing gives none
 * and the scanner scans only when asked (ECR basic: each scan ends in an event that reads
 * findings again). A continuous scanner's facts (Inspector) need the listed time to match.
 */
export function reusableRef(
  refs: FactsRef[] | undefined,
  digest: string,
  listedCompletedAt: string | undefined,
  scanners: ScannerTraits,
): FactsRef | undefined {
  const ref = refs?.find((r) => r.digest === digest);
  if (!ref) return undefined;
  if (listedCompletedAt !== undefined)
    return listedCompletedAt === ref.completedAt ? ref : undefined;
  return scanners.onRequest.includes(ref.scanner) ? ref : undefined;
}

/** True when the ref names the scan the facts are of (same scanner and completion time). */
export function sameScan(
  ref: Pick<FactsRef, 'scanner' | 'completedAt'>,
  scan: { scanner?: Scanner; completedAt?: string },
): boolean {
  return ref.completedAt === scan.completedAt && (!scan.scanner || ref.scanner === scan.scanner);
}

/*
 * Compact encoding: one JSON array per finding, fields by position, trailing empties cut:
 * [id, severity (index in SEVERITIES), package, version, ecosystem, fixedIn, cvss score,
 *  cvss version, cvss vector, fixAvailable (1/0), exploitAvailable (1/0), epss,
 *  inspectorScore, link, firstObservedAt, exploitedAt]. A field added at the end keeps
 *  older rows readable (they are padded). Adapters compress the text (docs/architecture.md).
 */
export const FACTS_ENCODING = 'f1';

type Cell = string | number | null;

function flag(value: boolean | undefined): Cell {
  return value === undefined ? null : value ? 1 : 0;
}

export function encodeFindings(findings: Finding[]): string {
  const rows = findings.map((f) => {
    const row: Cell[] = [
      f.id,
      SEVERITIES.indexOf(f.severity),
      f.package?.name ?? null,
      f.package?.version ?? null,
      f.package?.ecosystem ?? null,
      f.fixedIn ?? null,
      f.cvss?.score ?? null,
      f.cvss?.version ?? null,
      f.cvss?.vector ?? null,
      flag(f.fixAvailable),
      flag(f.exploitAvailable),
      f.epss ?? null,
      f.inspectorScore ?? null,
      f.link ?? null,
      f.firstObservedAt ?? null,
      f.exploitedAt ?? null,
    ];
    while (row.length > 2 && row.at(-1) === null) row.pop();
    return row;
  });
  return JSON.stringify(rows);
}

const text = z.string().nullable().optional();
const num = z.number().nullable().optional();
const bit = z
  .union([z.literal(0), z.literal(1)])
  .nullable()
  .optional();
// One schema for a whole row, trailing fields optional; `isRow` checks the same by hand
// (zod was half of decoding the fleet's facts), the schema then names what is wrong.
const row = z.tuple([
  z.string().min(1),
  z
    .number()
    .int()
    .min(0)
    .max(SEVERITIES.length - 1),
  text,
  text,
  text,
  text,
  num,
  text,
  text,
  bit,
  bit,
  num,
  num,
  text,
  text,
  text,
]);
type Row = z.infer<typeof row>;

/**
 * A row as a Finding, its fields assigned only when present (no `delete`, which turns
 * objects into slow dictionaries that every later read of the finding pays for).
 */
function findingOf(r: Row): Finding {
  const [id, severity, name, version, ecosystem, fixedIn, score, cvssVersion, vector] = r;
  const [, , , , , , , , , fix, exploit, epss, inspector, link, first, exploitedAt] = r;
  const f: Finding = { id, severity: SEVERITIES[severity] ?? 'UNDEFINED' };
  if (score != null && cvssVersion) {
    f.cvss =
      vector != null ? { score, version: cvssVersion, vector } : { score, version: cvssVersion };
  }
  if (name) {
    const pkg: NonNullable<Finding['package']> = { name };
    if (version != null) pkg.version = version;
    if (ecosystem != null) pkg.ecosystem = ecosystem;
    f.package = pkg;
  }
  if (fixedIn != null) f.fixedIn = fixedIn;
  if (fix != null) f.fixAvailable = fix === 1;
  if (exploit != null) f.exploitAvailable = exploit === 1;
  if (epss != null) f.epss = epss;
  if (inspector != null) f.inspectorScore = inspector;
  if (link != null) f.link = link;
  if (first != null) f.firstObservedAt = first;
  if (exploitedAt != null) f.exploitedAt = exploitedAt;
  return f;
}

/** Field kinds of a row by position after id and severity: text, number, or 0/1 flag. */
const KINDS = 'ttttnttbbnnttt';

/** What `row` accepts, checked by hand: the fleet questions decode every digest's rows. */
function isRow(r: unknown): r is Row {
  if (!Array.isArray(r) || r.length < 2 || r.length > KINDS.length + 2) return false;
  const [id, severity] = r;
  if (typeof id !== 'string' || id.length === 0) return false;
  if (!Number.isInteger(severity) || severity < 0 || severity >= SEVERITIES.length) return false;
  for (let i = 2; i < r.length; i++) {
    const v = r[i];
    if (v === null || v === undefined) continue;
    const kind = KINDS[i - 2];
    if (
      kind === 't'
        ? typeof v !== 'string'
        : kind === 'n'
          ? typeof v !== 'number' || !Number.isFinite(v)
          : v !== 0 && v !== 1
    )
      return false;
  }
  return true;
}

/** Decodes what encodeFindings wrote; InvalidFindingsError on anything else. */
export function decodeFindings(encoded: string, source = 'stored facts'): Finding[] {
  let json: unknown;
  try {
    json = JSON.parse(encoded);
  } catch (error) {
    throw new InvalidFindingsError(`${source} is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (Array.isArray(json) && json.every(isRow)) return json.map(findingOf);
  // The schema says what is wrong.
  const rows = z.array(row).safeParse(json);
  if (!rows.success) {
    const issue = rows.error.issues[0];
    const [at, field] = issue?.path ?? [];
    if (typeof at === 'number' && typeof field === 'number' && field >= 2) {
      const id = (json as unknown[][])[at]?.[0];
      throw new InvalidFindingsError(`${source}: finding ${at} (${id}) has a malformed field`, {
        cause: rows.error,
      });
    }
    throw new InvalidFindingsError(
      `${source} is not an ${FACTS_ENCODING} findings encoding: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      { cause: rows.error },
    );
  }
  return rows.data.map(findingOf);
}
