import { type DecidingFinding, decidingFindings, undecidingCount } from './deciding-findings';
import type { FindingsFacts } from './findings-facts';
import type { ImageKey } from './image-ref';
import { imageId } from './image-ref';
import type { HistoryEntry } from './stored-verdict';
import type { Reason, VerdictValue } from './verdict';
import type { VerdictRecord } from './verdict-record';

/**
 * Where a digest stands for admission, in the words the webhook and `explain` share.
 * `expired`: admitted until a grace deadline or exception expiry that has passed.
 */
export const IMAGE_STANDINGS = [
  'admitted',
  'warned',
  'never-evaluated',
  'pending',
  'failed',
  'error',
  'deleted',
  'expired',
] as const;
export type ImageStanding = (typeof IMAGE_STANDINGS)[number];

export interface ExplainedException {
  id: string;
  owner: string;
  expiresAt: string;
  state: 'applied' | 'expiring' | 'expired';
  findings: string[];
  platform?: string;
}

export interface Explanation {
  image: string;
  standing: ImageStanding;
  admitted: boolean;
  verdict?: VerdictValue;
  tags: string[];
  evaluatedAt?: string;
  policyHash?: string;
  scan?: { scanner: string; state: string; status: string; completedAt?: string };
  deletedAt?: string;
  /** Reasons that shaped the verdict (info ones last). */
  reasons: Reason[];
  /** Every finding the verdict rests on, strongest role first (deciding-findings.ts). */
  findings: DecidingFinding[];
  /** Where their details come from: the stored facts, or (verdicts without facts) the top findings. */
  findingsFrom: 'facts' | 'top-findings';
  /** Findings of the stored facts that decided nothing (below every rule). */
  otherFindings?: number;
  exceptions: ExplainedException[];
  deadlines: { at: string; what: string }[];
  /** Transitions, newest first. */
  history: HistoryEntry[];
  /** What to do, in order. */
  actions: string[];
}

export function standingOf(record: VerdictRecord | undefined, now: Date): ImageStanding {
  if (!record) return 'never-evaluated';
  if (record.deletedAt) return 'deleted';
  switch (record.verdict) {
    case 'FAIL':
      return 'failed';
    case 'PENDING':
      return 'pending';
    case 'ERROR':
      return 'error';
    default:
      if (record.expiresAt && Date.parse(record.expiresAt) <= now.getTime()) return 'expired';
      return record.verdict === 'WARN' ? 'warned' : 'admitted';
  }
}

const EXCEPTION_STATE = {
  EXCEPTION_APPLIED: 'applied',
  EXCEPTION_EXPIRING: 'expiring',
  EXCEPTION_EXPIRED: 'expired',
} as const;

/** One entry per exception (and platform): its latest state wins over `applied`. */
function exceptionsOf(reasons: readonly Reason[]): ExplainedException[] {
  const byId = new Map<string, ExplainedException>();
  for (const r of reasons) {
    if (!r.exception || !(r.code in EXCEPTION_STATE)) continue;
    const state = EXCEPTION_STATE[r.code as keyof typeof EXCEPTION_STATE];
    const key = `${r.exception.id}#${r.platform ?? ''}`;
    const seen = byId.get(key);
    const findings = [...new Set([...(seen?.findings ?? []), ...(r.findings ?? [])])];
    byId.set(key, {
      ...r.exception,
      state: seen && state === 'applied' ? seen.state : state,
      findings,
      ...(r.platform && { platform: r.platform }),
    });
  }
  return [...byId.values()];
}

function deadlinesOf(record: VerdictRecord): { at: string; what: string }[] {
  const out: { at: string; what: string }[] = [];
  if (record.deadline) out.push({ at: record.deadline, what: 'earliest remediation deadline' });
  if (record.expiresAt) out.push({ at: record.expiresAt, what: 'admitted until' });
  for (const r of record.reasons) {
    if (r.deadline && r.deadline !== record.deadline) {
      out.push({ at: r.deadline, what: `${r.code}: ${(r.findings ?? []).join(', ')}` });
    }
  }
  return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

const EFFECT_ORDER = { fail: 0, error: 1, pending: 2, warn: 3, info: 4 } as const;

/**
 * Everything `registry-watcher explain` says about one digest, from its stored record and
 * the findings facts that record names (`facts`: those that could be read).
 */
export function explain(
  key: ImageKey,
  record: VerdictRecord | undefined,
  history: readonly HistoryEntry[],
  now: Date,
  facts: readonly FindingsFacts[] = [],
): Explanation {
  const standing = standingOf(record, now);
  const newestFirst = [...history].sort((a, b) =>
    a.at === b.at ? b.version - a.version : a.at < b.at ? 1 : -1,
  );
  if (!record) {
    return {
      image: imageId(key),
      standing,
      admitted: false,
      tags: [],
      reasons: [],
      findings: [],
      findingsFrom: 'facts',
      exceptions: [],
      deadlines: [],
      history: newestFirst,
      actions: actionsFor(standing, undefined, [], [], now),
    };
  }
  const reasons = [...record.reasons].sort(
    (a, b) => EFFECT_ORDER[a.effect] - EFFECT_ORDER[b.effect],
  );
  const exceptions = exceptionsOf(record.reasons);
  const findings = decidingFindings(record, facts);
  return {
    image: imageId(record),
    standing,
    admitted: standing === 'admitted' || standing === 'warned',
    verdict: record.verdict,
    tags: record.tags,
    evaluatedAt: record.evaluatedAt,
    policyHash: record.policyHash,
    scan: {
      scanner: record.scan.scanner,
      state: record.scan.state,
      status: record.scan.status,
      ...(record.scan.completedAt && { completedAt: record.scan.completedAt }),
    },
    ...(record.deletedAt && { deletedAt: record.deletedAt }),
    reasons,
    findings,
    findingsFrom: facts.length > 0 ? 'facts' : 'top-findings',
    ...(facts.length > 0 && { otherFindings: undecidingCount(findings, facts) }),
    exceptions,
    deadlines: deadlinesOf(record),
    history: newestFirst,
    actions: actionsFor(standing, record, findings, exceptions, now),
  };
}

const SCAN_CODES = new Set([
  'SCAN_PENDING',
  'RESCAN_PENDING',
  'UNSCANNED',
  'SCAN_STALE',
  'SCAN_MONITORING_ENDED',
  'NO_PLATFORMS',
]);

function actionsFor(
  standing: ImageStanding,
  record: VerdictRecord | undefined,
  findings: readonly DecidingFinding[],
  exceptions: ExplainedException[],
  now: Date,
): string[] {
  if (!record) {
    return [
      'no verdict is stored for this digest: check the reference (registry, repository and digest as pushed)',
      'only images in the watched ECR registries are judged; after a push the verdict follows the scan (minutes); the nightly rescan reconciles images no event announced',
    ];
  }
  if (record.deletedAt) {
    return [
      `the image was deleted from the registry at ${record.deletedAt}: push it again (it is judged afresh) or use a digest that exists`,
    ];
  }
  const actions: string[] = [];
  if (standing === 'expired') {
    actions.push(
      `admission ended at ${record.expiresAt} (a grace deadline or exception ran out): fix the findings below, or renew the exception`,
    );
  }
  for (const f of findings.filter((f) => f.role === 'blocking')) {
    const pkg = f.package
      ? `${f.package.name}${f.package.version ? ` ${f.package.version}` : ''}`
      : undefined;
    actions.push(`${f.id} (${f.severity ?? 'severity unknown'}): ${fixAdvice(f, pkg)}`);
  }
  for (const e of exceptions) {
    if (e.state === 'expiring') {
      actions.push(
        `exception ${e.id} expires ${e.expiresAt}: ask its owner ${e.owner} to renew it, or fix ${e.findings.join(', ')}`,
      );
    } else if (e.state === 'expired' || Date.parse(e.expiresAt) <= now.getTime()) {
      actions.push(
        `exception ${e.id} (owner ${e.owner}) expired ${e.expiresAt}: ask ${e.owner} to renew it, or fix ${e.findings.join(', ')}`,
      );
    }
  }
  for (const r of record.reasons) {
    if (r.code === 'GRACE_PERIOD' && r.deadline) {
      actions.push(
        `fix ${(r.findings ?? []).join(', ')} before ${r.deadline}: the grace period ends then and the digest leaves the allowlist`,
      );
    } else if (SCAN_CODES.has(r.code) && r.effect !== 'info') {
      actions.push(`${r.code}: ${r.message}`);
    } else if (r.code === 'SIGNATURE_UNVERIFIED' && r.effect === 'fail') {
      actions.push(
        `sign the image with a key or identity the policy trusts (docs/signatures.md): ${r.message}`,
      );
    } else if (r.code === 'EVALUATION_ERROR') {
      actions.push(
        `the evaluation failed (${r.message}); it is retried by the next event or the nightly rescan`,
      );
    }
  }
  if (actions.length === 0 && (standing === 'admitted' || standing === 'warned')) {
    actions.push('nothing to do: the digest is admitted');
  }
  return [...new Set(actions)];
}

function fixAdvice(f: DecidingFinding, pkg: string | undefined): string {
  const what = pkg ?? 'the package';
  if (f.fixedIn) return `upgrade ${what} to ${f.fixedIn} and push a new image`;
  const otherwise =
    'remove the package, or ask for a policy exception (exceptions: id, owner, expiresAt)';
  if (f.fixAvailable === false) return `no fix yet for ${what}: ${otherwise}`;
  // ECR basic scanning reports no fix data at all.
  return `the scanner reports no fix version: rebuild on an updated base image to upgrade ${what}, or ${otherwise}`;
}
