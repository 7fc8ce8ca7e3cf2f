import { compact } from './findings';
import type { JudgedFinding } from './rules/facts';
import { severityRank } from './severity';
import type { FindingSummary } from './verdict';

const TOP_FINDINGS = 10;

function summarise({ finding, blocking, exploited }: JudgedFinding): FindingSummary {
  return compact({
    id: finding.id,
    severity: finding.severity,
    cvss: finding.cvss,
    package: finding.package,
    fixedIn: finding.fixedIn,
    fixAvailable: finding.fixAvailable,
    exploitAvailable: finding.exploitAvailable,
    exploited: exploited || undefined,
    epss: finding.epss,
    link: finding.link,
    blocking,
  });
}

/** Blocking first, then by severity, CVSS and id, so alerts lead with what matters. */
export function topFindings(judged: JudgedFinding[]): FindingSummary[] {
  const unique = new Map<string, JudgedFinding>();
  for (const j of judged) {
    const seen = unique.get(j.finding.id);
    if (!seen || (j.blocking && !seen.blocking)) unique.set(j.finding.id, j);
  }
  return [...unique.values()]
    .sort(
      (a, b) =>
        Number(b.blocking) - Number(a.blocking) ||
        severityRank(b.finding.severity) - severityRank(a.finding.severity) ||
        (b.finding.cvss?.score ?? 0) - (a.finding.cvss?.score ?? 0) ||
        (a.finding.id < b.finding.id ? -1 : a.finding.id > b.finding.id ? 1 : 0),
    )
    .slice(0, TOP_FINDINGS)
    .map(summarise);
}
