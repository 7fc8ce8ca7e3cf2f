import type { BlockingFacts } from './blocking-facts';
import type { Finding } from './findings';
import type { Severity, SeverityCounts } from './severity';

export const VERDICTS = ['PASS', 'WARN', 'FAIL', 'PENDING', 'ERROR'] as const;
export type VerdictValue = (typeof VERDICTS)[number];

/** Verdicts that put a digest on the allowlist. */
export function isAdmitted(verdict: VerdictValue | undefined): boolean {
  return verdict === 'PASS' || verdict === 'WARN';
}

/** How much a verdict blocks; an image index takes the worst of its platforms. */
const WORSE: Record<VerdictValue, number> = { PASS: 0, WARN: 1, PENDING: 2, ERROR: 3, FAIL: 4 };

export function worstVerdict(verdicts: Iterable<VerdictValue>): VerdictValue {
  let worst: VerdictValue = 'PASS';
  for (const v of verdicts) if (WORSE[v] > WORSE[worst]) worst = v;
  return worst;
}

/** What a reason does to the verdict. `info` reasons are recorded for the audit trail only. */
export type ReasonEffect = 'fail' | 'error' | 'pending' | 'warn' | 'info';

const EFFECT_VERDICT: Record<Exclude<ReasonEffect, 'info'>, VerdictValue> = {
  fail: 'FAIL',
  error: 'ERROR',
  pending: 'PENDING',
  warn: 'WARN',
};

export function verdictOfReasons(reasons: readonly Reason[]): VerdictValue {
  return worstVerdict(
    reasons.flatMap((r) => (r.effect === 'info' ? [] : [EFFECT_VERDICT[r.effect]])),
  );
}

export const REASON_CODES = [
  'VULNERABILITY',
  'CVSS_LIMIT',
  'EXPLOITED',
  'EPSS_LIMIT',
  'GRACE_PERIOD',
  'GRACE_EXPIRED',
  'UNFIXED_IGNORED',
  'EXCEPTION_APPLIED',
  'EXCEPTION_EXPIRING',
  'EXCEPTION_EXPIRED',
  'SCAN_PENDING',
  'RESCAN_PENDING',
  'UNSCANNED',
  'SCAN_STALE',
  'SCAN_MONITORING_ENDED',
  'SIGNATURE_VERIFIED',
  'SIGNATURE_UNVERIFIED',
  'NO_PLATFORMS',
  'EVALUATION_ERROR',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface Reason {
  code: ReasonCode;
  effect: ReasonEffect;
  message: string;
  /** Finding ids the reason is about. */
  findings?: string[];
  deadline?: string;
  exception?: { id: string; owner: string; expiresAt: string };
  /** For an image index: the platform (os/arch) whose manifest gave this reason. */
  platform?: string;
}

/** Signature facts gathered before evaluation; the policy decides what they mean. */
export interface SignatureResult {
  status: 'verified' | 'unsigned' | 'invalid' | 'not-checked';
  /** Key name or keyless identity that verified. */
  signer?: string;
  identity?: { issuer: string; subject: string };
  format?: 'sigstore-bundle' | 'cosign-legacy';
  /** Why nothing verified. */
  reason?: string;
}

/** Compact finding carried in verdicts, events and alerts. */
export type FindingSummary = Pick<
  Finding,
  | 'id'
  | 'severity'
  | 'cvss'
  | 'package'
  | 'fixedIn'
  | 'fixAvailable'
  | 'exploitAvailable'
  | 'epss'
  | 'link'
> & {
  blocking: boolean;
  /** Known exploited when judged: scanner exploit data or the KEV catalog. */
  exploited?: boolean;
};

/** The pure result of judging one image. */
export interface Evaluation {
  verdict: VerdictValue;
  reasons: Reason[];
  severityCounts: SeverityCounts;
  maxSeverity: Severity | 'NONE';
  topFindings: FindingSummary[];
  /** Compact set of what blocks (ids sketch, count, max severity): lets `changes` see it got worse. */
  blocking?: BlockingFacts;
  /** Earliest grace deadline running on this digest. */
  deadline?: string;
  /** When an admitted verdict stops holding without new facts (grace end, exception expiry). */
  expiresAt?: string;
  /** First time each graced finding was seen blocking: the grace clock. */
  findingClock: Record<string, string>;
  policyHash: string;
  evaluatedAt: string;
  /** Since when the digest is continuously admitted. */
  admittedAt?: string;
  /** When the oldest scan this judgement rests on finished (kept while no new scan comes). */
  scannedAt?: string;
}
