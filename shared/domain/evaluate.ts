import { blockingFactsOf, mergeBlockingFacts } from './blocking-facts';
import { compact, type ScanFindings } from './findings';
import type { ImageKey } from './image-ref';
import type { KnownExploited } from './known-exploited';
import { type Policy, settingsFor } from './policy';
import { exceptionsById } from './rules/exceptions';
import type {
  ImageFacts,
  JudgedFinding,
  ManifestFacts,
  PreviousEvaluation,
  RuleOutcome,
} from './rules/facts';
import { IMAGE_RULES, MANIFEST_RULES } from './rules/index';
import { emptySeverityCounts, maxSeverity, type SeverityCounts } from './severity';
import { topFindings } from './top-findings';
import {
  type Evaluation,
  isAdmitted,
  type Reason,
  type SignatureResult,
  verdictOfReasons,
} from './verdict';

export type { PreviousEvaluation } from './rules/facts';

export interface PlatformScan {
  digest: string;
  /** `os/arch[/variant]` */
  platform: string;
  scan: ScanFindings;
}

export interface EvaluationInput {
  image: ImageKey;
  /** Findings of a single-platform image. */
  scan?: ScanFindings;
  /** For an image index: one scan per platform manifest (the index passes only if all do). */
  platforms?: PlatformScan[];
  signature?: SignatureResult;
  previous?: PreviousEvaluation;
  policy: Policy;
  /** Known exploited vulnerabilities (CISA KEV) for `block.exploited`; absent: scanner data only. */
  knownExploited?: KnownExploited;
  now: Date;
  /**
   * Only the verdict is read (what-if): `topFindings` is left empty and `blocking` out,
   * a third of judging an image, which a replay of the whole fleet does 100,000 times.
   */
  verdictOnly?: true;
}

/** What the rules said about one manifest, folded. */
interface ManifestResult {
  reasons: Reason[];
  judged: JudgedFinding[];
  clock: [string, string][];
  running: number[];
  expired: number[];
  ends: number[];
  rescanning: boolean;
  carried: boolean;
  scannedAt?: string;
}

/**
 * Judges one image from its current facts. Pure and deterministic: the same input (and
 * `now`) always gives the same evaluation, which is what makes every trigger idempotent.
 */
export function evaluate(input: EvaluationInput): Evaluation {
  const previousAdmitted = isAdmitted(input.previous?.verdict);
  const manifestCount = input.platforms ? input.platforms.length : input.scan ? 1 : 0;
  const facts: ImageFacts = {
    image: input.image,
    settings: settingsFor(input.policy, input.image),
    exceptions: exceptionsById(input.policy),
    previousAdmitted,
    previousClock: clockOf(input.previous?.findingClock),
    judgedBefore: judgedFromScan(input.previous) ? input.previous : undefined,
    ...(input.knownExploited && { knownExploited: input.knownExploited }),
    ...(input.signature && { signature: input.signature }),
    manifests: manifestCount,
    now: input.now,
  };

  const manifests = input.platforms
    ? input.platforms.map((p) => judgeManifest({ ...facts, scan: p.scan, platform: p.platform }))
    : input.scan
      ? [judgeManifest({ ...facts, scan: input.scan })]
      : [];

  if (input.previous && previousAdmitted && manifests.some((m) => m.rescanning)) {
    return carryPrevious(input.previous, input.policy.hash, input.now);
  }

  const image = foldOutcomes(
    manifests,
    IMAGE_RULES.map((rule) => rule(facts)),
  );
  const { judgedBefore } = facts;
  // With no new scan anywhere, the previous counts and findings are the best facts there are.
  const allCarried = judgedBefore && manifests.length > 0 && manifests.every((m) => m.carried);
  const counts = allCarried
    ? { ...emptySeverityCounts(), ...judgedBefore?.severityCounts }
    : emptySeverityCounts();
  for (const m of manifests) for (const j of m.judged) counts[j.finding.severity] += 1;
  const judged = allCarried
    ? (judgedBefore?.topFindings ?? []).map(({ blocking, exploited, ...finding }) => ({
        finding,
        blocking,
        ...(exploited && { exploited }),
      }))
    : manifests.flatMap((m) => m.judged);
  const fresh = input.verdictOnly
    ? undefined
    : blockingFactsOf(
        manifests.flatMap((m) =>
          m.judged.map((j) => ({
            id: j.finding.id,
            severity: j.finding.severity,
            blocking: j.blocking,
            exploited: j.exploited === true,
          })),
        ),
      );
  // Carried manifests contribute no findings: what blocked them before still does.
  const carriedBlocking =
    judgedBefore?.blocking && manifests.some((m) => m.carried) ? judgedBefore.blocking : undefined;
  const blocking = fresh && carriedBlocking ? mergeBlockingFacts(carriedBlocking, fresh) : fresh;
  const scanned = manifests.flatMap((m) => (m.scannedAt ? [Date.parse(m.scannedAt)] : []));
  const verdict = verdictOfReasons(image.reasons);
  const admitted = isAdmitted(verdict);
  const { running, expired } = image;
  const deadline =
    running.length > 0
      ? Math.min(...running)
      : expired.length > 0
        ? Math.min(...expired)
        : undefined;
  const ends = [...running, ...image.ends];
  const nowIso = input.now.toISOString();

  return compact({
    verdict,
    reasons: image.reasons,
    severityCounts: counts,
    maxSeverity:
      maxSeverity(
        Object.entries(counts).flatMap(([s, n]) => (n > 0 ? [s as keyof SeverityCounts] : [])),
      ) ?? 'NONE',
    topFindings: input.verdictOnly ? [] : topFindings(judged),
    blocking,
    deadline: deadline === undefined ? undefined : new Date(deadline).toISOString(),
    expiresAt: admitted && ends.length > 0 ? new Date(Math.min(...ends)).toISOString() : undefined,
    // fromEntries defines own properties: a `__proto__` id stays a key, not a prototype.
    findingClock: Object.fromEntries(manifests.flatMap((m) => m.clock)),
    policyHash: input.policy.hash,
    evaluatedAt: nowIso,
    admittedAt: admitted
      ? previousAdmitted
        ? (input.previous?.admittedAt ?? nowIso)
        : nowIso
      : undefined,
    scannedAt: scanned.length > 0 ? new Date(Math.min(...scanned)).toISOString() : undefined,
  }) as Evaluation;
}

/** The manifest rules in order, until one is final (no usable scan, a carried judgement). */
function judgeManifest(facts: ManifestFacts): ManifestResult {
  const result: ManifestResult = {
    reasons: [],
    judged: [],
    clock: [],
    running: [],
    expired: [],
    ends: [],
    rescanning: false,
    carried: false,
  };
  for (const rule of MANIFEST_RULES) {
    const outcome = rule(facts);
    if (!outcome) continue;
    addOutcome(result, outcome, facts.platform);
    if (outcome.final) break;
  }
  return result;
}

function addOutcome(result: ManifestResult, outcome: RuleOutcome, platform?: string): void {
  for (const r of outcome.reasons ?? [])
    result.reasons.push(platform === undefined ? r : { ...r, platform });
  if (outcome.judged) result.judged.push(...outcome.judged);
  if (outcome.clock) result.clock.push(...outcome.clock);
  if (outcome.running) result.running.push(...outcome.running);
  if (outcome.expired) result.expired.push(...outcome.expired);
  if (outcome.ends) result.ends.push(...outcome.ends);
  if (outcome.rescanning) result.rescanning = true;
  if (outcome.carried) result.carried = true;
  if (outcome.scannedAt !== undefined) result.scannedAt = outcome.scannedAt;
}

/** The manifests' reasons first, then the image rules'; deadlines and ends from all. */
function foldOutcomes(manifests: ManifestResult[], image: (RuleOutcome | undefined)[]) {
  const folded = {
    reasons: manifests.flatMap((m) => m.reasons),
    running: manifests.flatMap((m) => m.running),
    expired: manifests.flatMap((m) => m.expired),
    ends: manifests.flatMap((m) => m.ends),
  };
  for (const outcome of image) {
    if (!outcome) continue;
    folded.reasons.push(...(outcome.reasons ?? []));
    folded.running.push(...(outcome.running ?? []));
    folded.expired.push(...(outcome.expired ?? []));
    folded.ends.push(...(outcome.ends ?? []));
  }
  return folded;
}

/** A rescan is running on an admitted digest: keep its verdict rather than drop it from the allowlist. */
function carryPrevious(previous: PreviousEvaluation, policyHash: string, now: Date): Evaluation {
  return compact({
    ...previous,
    reasons: [
      ...previous.reasons.filter((r) => r.code !== 'RESCAN_PENDING'),
      {
        code: 'RESCAN_PENDING',
        effect: 'info',
        message: 'a rescan is running; the previous verdict holds until it completes',
      },
    ],
    policyHash,
    evaluatedAt: now.toISOString(),
  }) as Evaluation;
}

/** Own entries only, and only readable instants: a stored clock is data, not code. */
function clockOf(clock: Record<string, unknown> | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, at] of Object.entries(clock ?? {})) {
    if (typeof at === 'string' && Number.isFinite(Date.parse(at))) out.set(id, at);
  }
  return out;
}

/** Codes that say the previous verdict rests on no usable scan. */
const NOT_FROM_A_SCAN = new Set(['UNSCANNED', 'SCAN_PENDING', 'NO_PLATFORMS', 'EVALUATION_ERROR']);

function judgedFromScan(previous: PreviousEvaluation | undefined): boolean {
  if (!previous) return false;
  const judged = ['PASS', 'WARN', 'FAIL'].includes(previous.verdict);
  return judged && !(previous.reasons ?? []).some((r) => NOT_FROM_A_SCAN.has(r.code));
}
