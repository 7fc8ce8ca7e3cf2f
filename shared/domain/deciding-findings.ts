import type { Finding } from './findings';
import type { FindingsFacts } from './findings-facts';
import { severityRank } from './severity';
import type { FindingSummary, Reason, ReasonCode } from './verdict';
import type { VerdictRecord } from './verdict-record';

/**
 * What a finding did to the verdict, strongest first: it blocks, it blocks once its grace
 * ends, an exception lifts it, or `onlyFixable` ignores it (no fix).
 */
export const FINDING_ROLES = ['blocking', 'grace', 'excepted', 'ignored'] as const;
export type FindingRole = (typeof FINDING_ROLES)[number];

/** One finding the verdict rests on, with what to do about it. */
export interface DecidingFinding
  extends Partial<Omit<Finding, 'id' | 'title' | 'firstObservedAt' | 'inspectorScore'>> {
  id: string;
  role: FindingRole;
  /** Codes of the reasons that name it. */
  reasons: ReasonCode[];
  /** Known exploited when judged (scanner data or the KEV catalog). */
  exploited?: boolean;
  /** For an image index: the platforms whose reasons name it. */
  platforms?: string[];
  /** The judged manifests whose stored facts carry it. */
  manifests?: string[];
  /** Its remediation deadline (grace), when one runs. */
  deadline?: string;
  exception?: { id: string; owner: string; expiresAt: string; state: ExceptionState };
}

type ExceptionState = 'applied' | 'expiring' | 'expired';

const EXCEPTION_STATE: Partial<Record<ReasonCode, ExceptionState>> = {
  EXCEPTION_APPLIED: 'applied',
  EXCEPTION_EXPIRING: 'expiring',
  EXCEPTION_EXPIRED: 'expired',
};

function roleOf(reason: Reason): FindingRole | undefined {
  if (reason.effect === 'fail') return 'blocking';
  if (reason.code === 'GRACE_PERIOD') return 'grace';
  if (reason.code in EXCEPTION_STATE) return 'excepted';
  if (reason.code === 'UNFIXED_IGNORED') return 'ignored';
  return undefined;
}

const ROLE_RANK = new Map(FINDING_ROLES.map((role, i) => [role, i]));

const stronger = (a: FindingRole, b: FindingRole) =>
  (ROLE_RANK.get(a) ?? 9) <= (ROLE_RANK.get(b) ?? 9) ? a : b;

/** Where each finding id is in the stored facts: its first copy and every manifest carrying it. */
function indexFacts(facts: readonly FindingsFacts[]) {
  const byId = new Map<string, { finding: Finding; manifests: string[] }>();
  for (const entry of facts) {
    for (const finding of entry.findings) {
      const seen = byId.get(finding.id);
      if (seen) {
        if (!seen.manifests.includes(entry.key.digest)) seen.manifests.push(entry.key.digest);
      } else byId.set(finding.id, { finding, manifests: [entry.key.digest] });
    }
  }
  return byId;
}

function detailsOf(finding: Finding | FindingSummary): Partial<DecidingFinding> {
  const details: Partial<DecidingFinding> = { severity: finding.severity };
  if (finding.cvss) details.cvss = finding.cvss;
  if (finding.package) details.package = finding.package;
  if (finding.fixedIn) details.fixedIn = finding.fixedIn;
  if (finding.fixAvailable !== undefined) details.fixAvailable = finding.fixAvailable;
  if (finding.exploitAvailable !== undefined) details.exploitAvailable = finding.exploitAvailable;
  if ('exploitedAt' in finding && finding.exploitedAt) details.exploitedAt = finding.exploitedAt;
  if (finding.epss !== undefined) details.epss = finding.epss;
  if (finding.link) details.link = finding.link;
  return details;
}

/**
 * Every finding the stored verdict names in its reasons (all of them: reasons keep every
 * id, the message only shows five), detailed from the facts it was judged on, else from
 * its top findings (verdicts stored before facts were kept). Strongest role first, then
 * severity and CVSS, highest first.
 */
export function decidingFindings(
  record: Pick<VerdictRecord, 'reasons' | 'topFindings'>,
  facts: readonly FindingsFacts[],
): DecidingFinding[] {
  const entries = new Map<string, DecidingFinding>();
  for (const reason of record.reasons) {
    const role = roleOf(reason);
    if (!role) continue;
    for (const id of reason.findings ?? []) {
      const entry = entries.get(id) ?? { id, role, reasons: [] };
      entry.role = stronger(entry.role, role);
      if (!entry.reasons.includes(reason.code)) entry.reasons.push(reason.code);
      if (reason.platform) {
        entry.platforms = [...new Set([...(entry.platforms ?? []), reason.platform])];
      }
      if (reason.deadline && (!entry.deadline || reason.deadline < entry.deadline)) {
        entry.deadline = reason.deadline;
      }
      const state = EXCEPTION_STATE[reason.code];
      // `applied` comes with `expiring`: the more telling state wins, whatever the order.
      if (reason.exception && state) {
        const kept = entry.exception && state === 'applied' ? entry.exception.state : state;
        entry.exception = { ...reason.exception, state: kept };
      }
      entries.set(id, entry);
    }
  }
  const stored = indexFacts(facts);
  const top = new Map(record.topFindings.map((f) => [f.id, f]));
  const out: DecidingFinding[] = [];
  for (const entry of entries.values()) {
    const inFacts = stored.get(entry.id);
    const summary = top.get(entry.id);
    const from = inFacts?.finding ?? summary;
    const exploited = entry.reasons.includes('EXPLOITED') || summary?.exploited === true;
    out.push({
      ...(from && detailsOf(from)),
      ...entry,
      ...(exploited && { exploited }),
      ...(inFacts && { manifests: inFacts.manifests }),
    });
  }
  return out.sort(
    (a, b) =>
      (ROLE_RANK.get(a.role) ?? 9) - (ROLE_RANK.get(b.role) ?? 9) ||
      (b.severity ? severityRank(b.severity) : -1) - (a.severity ? severityRank(a.severity) : -1) ||
      (b.cvss?.score ?? -1) - (a.cvss?.score ?? -1) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** How many findings of the stored facts decided nothing (below every rule of the policy). */
export function undecidingCount(
  deciding: readonly DecidingFinding[],
  facts: readonly FindingsFacts[],
): number {
  const named = new Set(deciding.map((f) => f.id));
  return new Set(facts.flatMap((f) => f.findings.map((x) => x.id)).filter((id) => !named.has(id)))
    .size;
}
