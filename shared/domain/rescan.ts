import { DAY_MS, parseDuration } from './duration';
import { type ImageFacts, isIndexMediaType, isSupplyChainArtifact } from './image-facts';
import type { ImageKey } from './image-ref';
import { type Policy, settingsFor } from './policy';
import type { VerdictRecord } from './verdict-record';

/** An on-request scan of one image starts at most once per 24 hours (ECR basic's limit). */
const SCAN_START_INTERVAL_MS = DAY_MS;

/**
 * How the watched registry scans: `basic`, only when asked (the nightly run starts scans
 * that are due); `enhanced`, continuously by itself (the run starts none). One setting,
 * `SCANNING_MODE`, read by evaluate and the planner.
 */
export type ScanningMode = 'basic' | 'enhanced';

/** What the planner keeps of a stored verdict: enough to join it with the registry. */
export interface KnownImage {
  digest: string;
  deleted: boolean;
  scanCompletedAt?: string;
  scanStatus?: string;
}

export function knownImageOf(record: VerdictRecord): KnownImage {
  return {
    digest: record.digest,
    deleted: record.deletedAt !== undefined,
    ...(record.scan?.completedAt && { scanCompletedAt: record.scan.completedAt }),
    ...(record.scan?.status && { scanStatus: record.scan.status }),
  };
}

/** Child manifests of an image index, read from its manifest. */
export interface IndexChildren {
  /** Platform manifests: what ECR scans. */
  platforms: string[];
  /** Every child, buildx attestation manifests included. */
  all: string[];
}

/** One repository as the registry lists it, or `images: undefined` when it no longer exists. */
export interface RepositoryListing {
  registry: string;
  repository: string;
  images?: ImageFacts[];
  children: ReadonlyMap<string, IndexChildren>;
}

/**
 * `rescan`: a known digest, re-evaluated from current facts (time-dependent verdicts change).
 * `reconcile`: in the registry with no verdict (its push event was lost).
 * `confirm-deleted`: has a verdict but was not listed: checked once more, then a `delete`
 * request (evaluate records the deletion).
 */
export type RescanAction = 'rescan' | 'reconcile' | 'confirm-deleted';

export interface PlannedImage {
  key: ImageKey;
  action: RescanAction;
  /** The listing of a single-manifest image, passed on so evaluate need not describe it again. */
  seen?: ImageFacts;
  /** Manifests whose basic scan is due: the image itself, or an index's platform manifests. */
  scanTargets: string[];
}

export interface PlanContext {
  policy: Policy;
  now: Date;
  scanning: ScanningMode;
  /** False for a repository that only the table still names: known digests only, no reconcile. */
  watched: boolean;
  /** Rescan this long before the policy's maxScanAge runs out (one nightly period). */
  renewAheadMs: number;
}

/**
 * Age after which a basic scan is started again: a nightly period before the repository's
 * maxScanAge would make the verdict stale, and never more often than ECR allows.
 */
export function scanDueAfterMs(
  policy: Policy,
  repository: { registry: string; repository: string },
  renewAheadMs: number,
): number {
  const maxAge = parseDuration(settingsFor(policy, repository).maxScanAge);
  return Math.max(SCAN_START_INTERVAL_MS, maxAge - renewAheadMs);
}

/** ECR will not scan these again, whatever we ask. */
// No StartImageScan can help: an unsupported image never scans, an archived one (ECR's
// archive storage class) only after it is restored; asking every night wastes the 1/s quota.
const UNSCANNABLE = new Set(['UNSUPPORTED_IMAGE', 'IMAGE_ARCHIVED']);
const RUNNING = new Set(['IN_PROGRESS', 'PENDING']);

export function isScanDue(
  last: { completedAt?: string | undefined; status?: string | undefined },
  dueAfterMs: number,
  now: Date,
): boolean {
  if (last.status && (UNSCANNABLE.has(last.status) || RUNNING.has(last.status))) return false;
  if (!last.completedAt) return true;
  return now.getTime() - Date.parse(last.completedAt) >= dueAfterMs;
}

function latest(...times: (string | undefined)[]): string | undefined {
  return times
    .filter((t): t is string => t !== undefined)
    .sort()
    .at(-1);
}

/**
 * Joins one repository's listing with the verdicts the table holds for it. Pure: the
 * result depends on its arguments only, sorted by digest so a run can resume after any
 * digest and never plan one twice.
 */
export function planRepository(
  listing: RepositoryListing,
  known: ReadonlyMap<string, KnownImage>,
  ctx: PlanContext,
): PlannedImage[] {
  const { registry, repository } = listing;
  const images = (listing.images ?? []).filter((f) => !isSupplyChainArtifact(f));
  const listed = new Map(images.map((f) => [f.key.digest, f]));
  const covered = new Set<string>();
  for (const children of listing.children.values()) for (const d of children.all) covered.add(d);
  const dueAfter = scanDueAfterMs(ctx.policy, listing, ctx.renewAheadMs);
  const planned: PlannedImage[] = [];
  const key = (digest: string): ImageKey => ({ registry, repository, digest });

  for (const facts of images) {
    const digest = facts.key.digest;
    const entry = known.get(digest);
    let action: RescanAction;
    if (entry && !entry.deleted) action = 'rescan';
    // A platform or attestation manifest is judged with its index (push events name the index).
    else if (covered.has(digest) || !ctx.watched) continue;
    else action = 'reconcile';
    planned.push({
      key: key(digest),
      action,
      scanTargets: scanTargets(facts, entry),
      ...(!isIndexMediaType(facts.mediaType) && { seen: facts }),
    });
  }
  for (const entry of known.values()) {
    if (!entry.deleted && !listed.has(entry.digest)) {
      planned.push({ key: key(entry.digest), action: 'confirm-deleted', scanTargets: [] });
    }
  }
  return planned.sort((a, b) => compare(a.key.digest, b.key.digest));

  function scanTargets(facts: ImageFacts, entry: KnownImage | undefined): string[] {
    if (ctx.scanning !== 'basic') return [];
    const own = {
      completedAt: latest(entry?.scanCompletedAt, facts.scanCompletedAt),
      status: facts.scanStatus ?? entry?.scanStatus,
    };
    if (!isIndexMediaType(facts.mediaType)) {
      return isScanDue(own, dueAfter, ctx.now) ? [facts.key.digest] : [];
    }
    // ECR scans an index's platform manifests; the stored scan time of an index is its oldest.
    return (listing.children.get(facts.key.digest)?.platforms ?? []).filter((child) => {
      const detail = listed.get(child);
      const last = {
        completedAt: latest(detail?.scanCompletedAt, entry?.scanCompletedAt),
        status: detail?.scanStatus,
      };
      return isScanDue(last, dueAfter, ctx.now);
    });
  }
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** How far a run got: every repository before `repository` is done, and in it every digest up to `digest`. */
export interface RescanCursor {
  repository: string;
  /** Absent: the whole repository is done. */
  digest?: string;
}

export function repositoryId(registry: string, repository: string): string {
  return `${registry}/${repository}`;
}

/** True when the cursor says this repository needs no more work. */
export function repositoryDone(cursor: RescanCursor | undefined, id: string): boolean {
  if (!cursor) return false;
  const order = compare(id, cursor.repository);
  return order < 0 || (order === 0 && cursor.digest === undefined);
}

/** The planned images of a repository that the cursor has not passed yet. */
export function remainingAfter(
  cursor: RescanCursor | undefined,
  id: string,
  planned: PlannedImage[],
): PlannedImage[] {
  if (!cursor || cursor.repository !== id || cursor.digest === undefined) return planned;
  const after = cursor.digest;
  return planned.filter((p) => compare(p.key.digest, after) > 0);
}

/** Figures of a run (summed over its invocations); the digest message and metrics carry them. */
export interface RescanTotals {
  repositories: number;
  /** Images the registry listed (signatures and attestations left out). */
  listed: number;
  /** Known digests in the watched registries, deleted ones left out. */
  known: number;
  /** Evaluate requests sent: rescans plus reconciles (deletion requests count in `deleted`). */
  planned: number;
  rescans: number;
  /** In the registry without a verdict: pushes whose events were lost. */
  missing: number;
  /** Known, not listed, and gone by DescribeImages: a `delete` request went to evaluate. */
  deleted: number;
  scansStarted: number;
  /** ECR said no (LimitExceededException: once per image per 24 h, or the daily quota). */
  scansNotPossible: number;
  /** Still throttled after retries with backoff. */
  scansThrottled: number;
  scansFailed: number;
  /** Repositories that could not be listed; their digests were neither planned nor deleted. */
  repositoryErrors: number;
  /** Deletions that could not be confirmed; those verdicts stay as they are. */
  imageErrors: number;
}

export const TOTALS_KEYS = [
  'repositories',
  'listed',
  'known',
  'planned',
  'rescans',
  'missing',
  'deleted',
  'scansStarted',
  'scansNotPossible',
  'scansThrottled',
  'scansFailed',
  'repositoryErrors',
  'imageErrors',
] as const satisfies readonly (keyof RescanTotals)[];

export function emptyTotals(): RescanTotals {
  return Object.fromEntries(TOTALS_KEYS.map((k) => [k, 0])) as unknown as RescanTotals;
}

export function addTotals(a: RescanTotals, b: Partial<RescanTotals>): RescanTotals {
  return Object.fromEntries(
    TOTALS_KEYS.map((k) => [k, a[k] + (b[k] ?? 0)]),
  ) as unknown as RescanTotals;
}

export function subtractTotals(a: RescanTotals, b: RescanTotals): RescanTotals {
  return Object.fromEntries(TOTALS_KEYS.map((k) => [k, a[k] - b[k]])) as unknown as RescanTotals;
}
