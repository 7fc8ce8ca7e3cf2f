import { blockingFactsOf, mergeBlockingFacts } from './blocking-facts';
import { DAY_MS, parseDuration } from './duration';
import { compact, type Finding, type ScanFindings } from './findings';
import { matchesAnyGlob } from './glob';
import type { ImageKey } from './image-ref';
import { type KnownExploited, knownExploitedSince } from './known-exploited';
import {
  type GraceClass,
  graceMs,
  type Policy,
  type PolicyException,
  type RuleSettings,
  settingsFor,
} from './policy';
import {
  atLeast,
  emptySeverityCounts,
  maxSeverity,
  type SeverityCounts,
  severityRank,
} from './severity';
import {
  type Evaluation,
  type FindingSummary,
  isAdmitted,
  type Reason,
  type ReasonEffect,
  type SignatureResult,
  verdictOfReasons,
} from './verdict';

export interface PlatformScan {
  digest: string;
  /** `os/arch[/variant]` */
  platform: string;
  scan: ScanFindings;
}

/** The previous verdict, as far as evaluation needs it. */
export type PreviousEvaluation = Pick<
  Evaluation,
  'verdict' | 'reasons' | 'severityCounts' | 'maxSeverity' | 'topFindings' | 'findingClock'
> &
  Partial<Pick<Evaluation, 'admittedAt' | 'deadline' | 'expiresAt' | 'scannedAt' | 'blocking'>>;

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
}

export const EXCEPTION_WARNING_MS = 7 * DAY_MS;
const TOP_FINDINGS = 10;

interface ManifestResult {
  reasons: Reason[];
  counts: SeverityCounts;
  findings: JudgedFinding[];
  /** Maps, not objects: finding ids come from the scanner (`constructor` is a fine id). */
  clock: Map<string, string>;
  runningDeadlines: number[];
  expiredDeadlines: number[];
  exceptionEnds: number[];
  rescanning: boolean;
  /** The judgement was carried from the previous verdict (no new scan). */
  carried: boolean;
  scannedAt?: string;
}

interface JudgedFinding {
  finding: Finding;
  blocking: boolean;
  /** Known exploited: scanner exploit data or the KEV catalog. */
  exploited?: boolean;
}

interface Context {
  image: ImageKey;
  settings: RuleSettings;
  /** Exceptions by upper-case finding id. */
  exceptions: Map<string, PolicyException[]>;
  previousAdmitted: boolean;
  previousClock: ReadonlyMap<string, string>;
  /** The previous verdict, when it was judged from a usable scan. */
  judgedBefore?: PreviousEvaluation;
  knownExploited?: KnownExploited;
  platform?: string;
  now: Date;
}

const UNSCANNED_EFFECT: Record<RuleSettings['unscanned'], ReasonEffect> = {
  deny: 'fail',
  warn: 'warn',
  allow: 'info',
};

/**
 * Judges one image from its current facts. Pure and deterministic: the same input (and
 * `now`) always gives the same evaluation, which is what makes every trigger idempotent.
 */
export function evaluate(input: EvaluationInput): Evaluation {
  const settings = settingsFor(input.policy, input.image.repository);
  const context: Context = {
    image: input.image,
    settings,
    exceptions: exceptionsById(input.policy),
    previousAdmitted: isAdmitted(input.previous?.verdict),
    previousClock: clockOf(input.previous?.findingClock),
    judgedBefore: judgedFromScan(input.previous) ? input.previous : undefined,
    ...(input.knownExploited && { knownExploited: input.knownExploited }),
    now: input.now,
  };

  const manifests = input.platforms
    ? input.platforms.map((p) =>
        tagPlatform(evaluateManifest(p.scan, { ...context, platform: p.platform }), p.platform),
      )
    : input.scan
      ? [evaluateManifest(input.scan, context)]
      : [];

  if (input.previous && context.previousAdmitted && manifests.some((m) => m.rescanning)) {
    return carryPrevious(input.previous, input.policy.hash, input.now);
  }

  const reasons = manifests.flatMap((m) => m.reasons);
  if (manifests.length === 0) {
    reasons.push({
      code: 'NO_PLATFORMS',
      effect: UNSCANNED_EFFECT[settings.unscanned],
      message: `the image index lists no platform manifest to scan (policy unscanned: ${settings.unscanned})`,
    });
  }
  reasons.push(...signatureReasons(input.signature, settings));

  // With no new scan anywhere, the previous counts and findings are the best facts there are.
  const allCarried =
    context.judgedBefore && manifests.length > 0 && manifests.every((m) => m.carried);
  const counts = allCarried
    ? { ...emptySeverityCounts(), ...context.judgedBefore?.severityCounts }
    : emptySeverityCounts();
  for (const m of manifests)
    for (const [s, n] of Object.entries(m.counts)) counts[s as keyof SeverityCounts] += n;
  const judged = allCarried
    ? (context.judgedBefore?.topFindings ?? []).map(({ blocking, exploited, ...finding }) => ({
        finding,
        blocking,
        ...(exploited && { exploited }),
      }))
    : manifests.flatMap((m) => m.findings);
  const fresh = blockingFactsOf(
    manifests.flatMap((m) =>
      m.findings.map((j) => ({
        id: j.finding.id,
        severity: j.finding.severity,
        blocking: j.blocking,
        exploited: j.exploited === true,
      })),
    ),
  );
  // Carried manifests contribute no findings: what blocked them before still does.
  const carriedBlocking =
    context.judgedBefore?.blocking && manifests.some((m) => m.carried)
      ? context.judgedBefore.blocking
      : undefined;
  const blocking = carriedBlocking ? mergeBlockingFacts(carriedBlocking, fresh) : fresh;
  const scanned = manifests.flatMap((m) => (m.scannedAt ? [Date.parse(m.scannedAt)] : []));
  const verdict = verdictOfReasons(reasons);
  const admitted = isAdmitted(verdict);
  const running = manifests.flatMap((m) => m.runningDeadlines);
  const expired = manifests.flatMap((m) => m.expiredDeadlines);
  const deadline =
    running.length > 0
      ? Math.min(...running)
      : expired.length > 0
        ? Math.min(...expired)
        : undefined;
  const ends = [...running, ...manifests.flatMap((m) => m.exceptionEnds)];
  const nowIso = input.now.toISOString();

  return compact({
    verdict,
    reasons,
    severityCounts: counts,
    maxSeverity:
      maxSeverity(
        Object.entries(counts).flatMap(([s, n]) => (n > 0 ? [s as keyof SeverityCounts] : [])),
      ) ?? 'NONE',
    topFindings: topFindings(judged),
    blocking,
    deadline: deadline === undefined ? undefined : new Date(deadline).toISOString(),
    expiresAt: admitted && ends.length > 0 ? new Date(Math.min(...ends)).toISOString() : undefined,
    // fromEntries defines own properties: a `__proto__` id stays a key, not a prototype.
    findingClock: Object.fromEntries(manifests.flatMap((m) => [...m.clock])),
    policyHash: input.policy.hash,
    evaluatedAt: nowIso,
    admittedAt: admitted
      ? context.previousAdmitted
        ? (input.previous?.admittedAt ?? nowIso)
        : nowIso
      : undefined,
    scannedAt: scanned.length > 0 ? new Date(Math.min(...scanned)).toISOString() : undefined,
  }) as Evaluation;
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

const exceptionIndex = new WeakMap<Policy, Map<string, PolicyException[]>>();

/** Exceptions grouped by finding id, built once per policy object. */
function exceptionsById(policy: Policy): Map<string, PolicyException[]> {
  let index = exceptionIndex.get(policy);
  if (!index) {
    index = new Map();
    for (const e of policy.exceptions) {
      const id = e.id.toUpperCase();
      index.set(id, [...(index.get(id) ?? []), e]);
    }
    exceptionIndex.set(policy, index);
  }
  return index;
}

function tagPlatform(result: ManifestResult, platform: string): ManifestResult {
  return { ...result, reasons: result.reasons.map((r) => ({ ...r, platform })) };
}

function emptyResult(reasons: Reason[], rescanning = false): ManifestResult {
  return {
    reasons,
    counts: emptySeverityCounts(),
    findings: [],
    clock: new Map(),
    runningDeadlines: [],
    expiredDeadlines: [],
    exceptionEnds: [],
    rescanning,
    carried: false,
  };
}

/** Codes that say the previous verdict rests on no usable scan. */
const NOT_FROM_A_SCAN = new Set(['UNSCANNED', 'SCAN_PENDING', 'NO_PLATFORMS', 'EVALUATION_ERROR']);

function judgedFromScan(previous: PreviousEvaluation | undefined): boolean {
  if (!previous) return false;
  const judged = ['PASS', 'WARN', 'FAIL'].includes(previous.verdict);
  return judged && !(previous.reasons ?? []).some((r) => NOT_FROM_A_SCAN.has(r.code));
}

/** Recomputed below rather than carried: they depend on `now` or on this evaluation. */
const RECOMPUTED = new Set([
  'SCAN_STALE',
  'SCAN_MONITORING_ENDED',
  'RESCAN_PENDING',
  'EXCEPTION_EXPIRING',
  'SIGNATURE_VERIFIED',
  'SIGNATURE_UNVERIFIED',
]);

/**
 * No new scan of a digest judged before: the last judgement stands (DESIGN §9), re-checked
 * only against time (grace deadlines, exception ends, maxScanAge). Only findings fail it.
 */
function carryJudgement(
  scan: ScanFindings,
  ctx: Context,
  previous: PreviousEvaluation,
): ManifestResult {
  const { settings, now } = ctx;
  const result = { ...emptyResult([]), carried: true, scannedAt: previous.scannedAt };
  for (const { platform, ...r } of previous.reasons ?? []) {
    if (RECOMPUTED.has(r.code)) continue;
    if (ctx.platform !== undefined && platform !== undefined && platform !== ctx.platform) continue;
    const ids = listIds(r.findings ?? []);
    if (r.code === 'GRACE_PERIOD' && r.deadline) {
      const end = Date.parse(r.deadline);
      if (end > now.getTime()) {
        result.runningDeadlines.push(end);
        result.reasons.push(r);
      } else {
        result.expiredDeadlines.push(end);
        result.reasons.push({
          ...r,
          code: 'GRACE_EXPIRED',
          effect: 'fail',
          message: `remediation deadline passed: ${ids}`,
        });
      }
      continue;
    }
    if (r.code === 'EXCEPTION_APPLIED' && r.exception) {
      const { id, owner, expiresAt } = r.exception;
      const end = Date.parse(expiresAt);
      if (end > now.getTime()) {
        result.exceptionEnds.push(end);
        result.reasons.push(r);
        if (end - now.getTime() <= EXCEPTION_WARNING_MS) {
          result.reasons.push({
            ...r,
            code: 'EXCEPTION_EXPIRING',
            effect: 'warn',
            message: `exception ${id} (owner ${owner}) expires ${expiresAt}: ${ids}`,
          });
        }
      } else {
        result.reasons.push(
          {
            ...r,
            code: 'EXCEPTION_EXPIRED',
            effect: 'info',
            message: `exception ${id} (owner ${owner}) expired ${expiresAt} and no longer applies: ${ids}`,
          },
          {
            code: 'VULNERABILITY',
            effect: 'fail',
            message: `findings of the last scan no longer covered by an exception: ${ids}`,
            ...(r.findings && { findings: r.findings }),
          },
        );
      }
      continue;
    }
    result.reasons.push(r);
  }
  const why = scan.description ? `: ${scan.description}` : '';
  const scanOf = previous.scannedAt ? ` (scan of ${previous.scannedAt})` : '';
  result.reasons.push({
    code: 'SCAN_MONITORING_ENDED',
    effect: 'warn',
    message: `no new scan (status ${scan.status}${why}); the last judgement${scanOf} stands${scan.remedy ? `. ${scan.remedy}` : ''}`,
  });
  if (!previous.scannedAt) {
    result.reasons.push({
      code: 'SCAN_STALE',
      effect: 'warn',
      message: `the last usable scan has no known date, so maxScanAge ${settings.maxScanAge} cannot vouch for it`,
    });
  } else if (now.getTime() - Date.parse(previous.scannedAt) > parseDuration(settings.maxScanAge)) {
    result.reasons.push(staleReason(previous.scannedAt, settings));
  }
  return result;
}

function staleReason(completedAt: string, settings: RuleSettings): Reason {
  return {
    code: 'SCAN_STALE',
    effect: 'warn',
    message: `the last scan finished ${completedAt}, older than maxScanAge ${settings.maxScanAge}`,
  };
}

function evaluateManifest(scan: ScanFindings, ctx: Context): ManifestResult {
  const { settings, now } = ctx;
  if (scan.state === 'in-progress') {
    return emptyResult(
      [
        {
          code: 'SCAN_PENDING',
          effect: 'pending',
          message: `the scan is ${scan.status.toLowerCase()}`,
        },
      ],
      true,
    );
  }
  if (scan.state === 'monitoring-ended' && ctx.judgedBefore) {
    return carryJudgement(scan, ctx, ctx.judgedBefore);
  }
  if (scan.state === 'unscanned' || scan.state === 'monitoring-ended') {
    const why = scan.description ? `: ${scan.description}` : '';
    return emptyResult([
      {
        code: 'UNSCANNED',
        effect: UNSCANNED_EFFECT[settings.unscanned],
        message: `no usable scan (status ${scan.status}${why}); policy unscanned: ${settings.unscanned}${scan.remedy ? `. ${scan.remedy}` : ''}`,
      },
    ]);
  }

  const result = { ...emptyResult([]), scannedAt: scan.completedAt };
  if (scan.completedAt) {
    const age = now.getTime() - Date.parse(scan.completedAt);
    if (age > parseDuration(settings.maxScanAge)) {
      result.reasons.push(staleReason(scan.completedAt, settings));
    }
  }

  const groups = new Map<string, { reason: Omit<Reason, 'findings'>; findings: Set<string> }>();
  const add = (key: string, reason: Omit<Reason, 'findings'>, findingId: string) => {
    let group = groups.get(key);
    if (!group) {
      group = { reason, findings: new Set() };
      groups.set(key, group);
    }
    group.findings.add(findingId);
  };

  for (const finding of scan.findings) {
    result.counts[finding.severity] += 1;
    const exploited = isKnownExploited(finding, ctx.knownExploited);
    const rules = blockingRules(finding, exploited, settings);
    const rule = rules[0];
    let blocking = false;
    if (rule && settings.block.onlyFixable && finding.fixAvailable === false) {
      add(
        'UNFIXED_IGNORED',
        {
          code: 'UNFIXED_IGNORED',
          effect: 'info',
          message: 'findings without an available fix are ignored (onlyFixable: true)',
        },
        finding.id,
      );
    } else if (rule) {
      blocking = judgeBlockingFinding(finding, rules, ctx, result, add);
    }
    result.findings.push({ finding, blocking, ...(exploited && { exploited }) });
  }
  for (const { reason, findings } of groups.values()) {
    const ids = [...findings];
    result.reasons.push({
      ...reason,
      message: `${reason.message}: ${listIds(ids)}`,
      findings: ids,
    });
  }
  return result;
}

type BlockingRule = 'EXPLOITED' | 'EPSS_LIMIT' | 'VULNERABILITY' | 'CVSS_LIMIT';

/** Scanner exploit data, or the id is in the known-exploited catalog. */
function isKnownExploited(finding: Finding, catalog: KnownExploited | undefined): boolean {
  return (
    finding.exploitAvailable === true ||
    finding.exploitedAt !== undefined ||
    knownExploitedSince(catalog, finding.id) !== undefined
  );
}

/** Every rule that blocks the finding; the first names the reason (exploitability first). */
function blockingRules(
  finding: Finding,
  exploited: boolean,
  settings: RuleSettings,
): BlockingRule[] {
  const rules: BlockingRule[] = [];
  const { block } = settings;
  if (block.exploited && exploited) rules.push('EXPLOITED');
  if (block.epss !== undefined && finding.epss !== undefined && finding.epss >= block.epss) {
    rules.push('EPSS_LIMIT');
  }
  if (atLeast(finding.severity, block.severity)) rules.push('VULNERABILITY');
  const limit = block.maxCvss;
  if (limit !== undefined && finding.cvss && finding.cvss.score >= limit) rules.push('CVSS_LIMIT');
  return rules;
}

/**
 * The grace a blocked finding gets: the shortest over the classes that block it (severity
 * rules use the finding's severity; `exploited`/`epss` their own entry, else the severity's).
 * A class without grace means none: the strictest rule wins.
 */
function graceOf(finding: Finding, rules: BlockingRule[], settings: RuleSettings) {
  let best: { ms: number; label: string } | undefined;
  for (const rule of rules) {
    const key: GraceClass =
      rule === 'EXPLOITED' && settings.grace.exploited !== undefined
        ? 'exploited'
        : rule === 'EPSS_LIMIT' && settings.grace.epss !== undefined
          ? 'epss'
          : finding.severity;
    const ms = graceMs(settings, key);
    if (ms === undefined) return undefined;
    if (!best || ms < best.ms) {
      best = { ms, label: key === 'exploited' ? 'exploited' : key === 'epss' ? 'high-EPSS' : key };
    }
  }
  return best;
}

const RULE_MESSAGE: Record<BlockingRule, (settings: RuleSettings) => string> = {
  EXPLOITED: () => 'findings known to be exploited',
  EPSS_LIMIT: (s) => `findings with EPSS >= ${s.block.epss}`,
  VULNERABILITY: (s) => `findings at or above ${s.block.severity}`,
  CVSS_LIMIT: (s) => `findings with CVSS >= ${s.block.maxCvss}`,
};

/** Applies exceptions and grace to a finding the policy would block; true if it still counts. */
function judgeBlockingFinding(
  finding: Finding,
  rules: BlockingRule[],
  ctx: Context,
  result: ManifestResult,
  add: (key: string, reason: Omit<Reason, 'findings'>, findingId: string) => void,
): boolean {
  const { settings, now } = ctx;
  const matching = (ctx.exceptions.get(finding.id.toUpperCase()) ?? []).filter((e) =>
    exceptionCovers(e, ctx.image),
  );
  // Of several exceptions in force, the one lasting longest: the file's order must not matter.
  const active = matching
    .filter((e) => Date.parse(e.expiresAt) > now.getTime())
    .reduce<PolicyException | undefined>(
      (best, e) => (!best || Date.parse(e.expiresAt) > Date.parse(best.expiresAt) ? e : best),
      undefined,
    );
  if (active) {
    const exception = { id: active.id, owner: active.owner, expiresAt: active.expiresAt };
    add(
      `EXCEPTION_APPLIED#${active.id}`,
      {
        code: 'EXCEPTION_APPLIED',
        effect: 'info',
        message: `exception by ${active.owner} until ${active.expiresAt} (${active.reason})`,
        exception,
      },
      finding.id,
    );
    const end = Date.parse(active.expiresAt);
    result.exceptionEnds.push(end);
    if (end - now.getTime() <= EXCEPTION_WARNING_MS) {
      add(
        `EXCEPTION_EXPIRING#${active.id}`,
        {
          code: 'EXCEPTION_EXPIRING',
          effect: 'warn',
          message: `exception ${active.id} (owner ${active.owner}) expires ${active.expiresAt}`,
          exception,
        },
        finding.id,
      );
    }
    return false;
  }
  const lapsed = matching[0];
  if (lapsed) {
    add(
      `EXCEPTION_EXPIRED#${lapsed.id}`,
      {
        code: 'EXCEPTION_EXPIRED',
        effect: 'info',
        message: `exception ${lapsed.id} (owner ${lapsed.owner}) expired ${lapsed.expiresAt} and no longer applies`,
        exception: { id: lapsed.id, owner: lapsed.owner, expiresAt: lapsed.expiresAt },
      },
      finding.id,
    );
  }

  // Grace is for CVEs discovered on a digest already in use, not for lapsed exceptions.
  const rule = rules[0] ?? 'VULNERABILITY';
  const grace = graceOf(finding, rules, settings);
  const graced =
    grace !== undefined && !lapsed && (ctx.previousAdmitted || ctx.previousClock.has(finding.id));
  if (!graced) {
    add(rule, { code: rule, effect: 'fail', message: RULE_MESSAGE[rule](settings) }, finding.id);
    return true;
  }
  const firstSeen = ctx.previousClock.get(finding.id) ?? now.toISOString();
  const deadline = Date.parse(firstSeen) + grace.ms;
  const deadlineIso = new Date(deadline).toISOString();
  result.clock.set(finding.id, firstSeen);
  if (now.getTime() < deadline) {
    result.runningDeadlines.push(deadline);
    add(
      `GRACE_PERIOD#${deadlineIso}`,
      {
        code: 'GRACE_PERIOD',
        effect: 'warn',
        message: `remediation deadline ${deadlineIso} for ${grace.label} findings on an admitted digest`,
        deadline: deadlineIso,
      },
      finding.id,
    );
  } else {
    result.expiredDeadlines.push(deadline);
    add(
      'GRACE_EXPIRED',
      {
        code: 'GRACE_EXPIRED',
        effect: 'fail',
        message: `remediation deadline passed`,
        deadline: deadlineIso,
      },
      finding.id,
    );
  }
  return true;
}

function exceptionCovers(exception: PolicyException, image: ImageKey): boolean {
  // Both scopes given means both must match: the narrower reading is the safer one.
  if (exception.repositories && !matchesAnyGlob(image.repository, exception.repositories))
    return false;
  if (exception.digests && !exception.digests.includes(image.digest)) return false;
  return true;
}

function signatureReasons(
  signature: SignatureResult | undefined,
  settings: RuleSettings,
): Reason[] {
  const required = settings.signatures.required;
  const status = signature?.status ?? 'not-checked';
  if (status === 'verified') {
    return [
      {
        code: 'SIGNATURE_VERIFIED',
        effect: 'info',
        message: `signed by ${signature?.signer ?? 'a trusted signer'}`,
      },
    ];
  }
  if (!required && status !== 'invalid') return [];
  const why =
    status === 'unsigned'
      ? 'no signature was found'
      : status === 'invalid'
        ? `no signature verified (${signature?.reason ?? 'invalid signature'})`
        : 'signatures were not checked (no verifier configured)';
  return [
    {
      code: 'SIGNATURE_UNVERIFIED',
      effect: required ? 'fail' : 'info',
      message: required ? `a trusted signature is required but ${why}` : why,
    },
  ];
}

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
function topFindings(judged: JudgedFinding[]): FindingSummary[] {
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

function listIds(ids: string[]): string {
  const shown = ids.slice(0, 5).join(', ');
  return ids.length > 5 ? `${shown} and ${ids.length - 5} more` : shown;
}
