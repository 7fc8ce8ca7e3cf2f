import { DAY_MS } from '../domain/duration';
import { matchesAnyGlob } from '../domain/glob';
import { type ImageFacts, isIndexMediaType, isSupplyChainArtifact } from '../domain/image-facts';
import { type ImageKey, imageId } from '../domain/image-ref';
import type { Policy } from '../domain/policy';
import {
  addTotals,
  compare,
  type KnownImage,
  knownImageOf,
  type PlannedImage,
  planRepository,
  type RepositoryListing,
  type RescanCursor,
  type RescanTotals,
  remainingAfter,
  repositoryDone,
  repositoryId,
  type ScanningMode,
} from '../domain/rescan';
import {
  type Clock,
  type ImageSource,
  type Log,
  silentLog,
  systemClock,
  type VerdictCatalog,
} from '../ports';
import type { EvaluateQueue, PlannedRequest, RepositorySource, ScanStarter } from '../ports/rescan';
import { limiter } from './evaluate-batch';

export interface RescanPlannerOptions {
  catalog: VerdictCatalog;
  repositories: RepositorySource;
  /** Lists repositories and confirms deletions (DescribeImages). */
  images: ImageSource;
  /** Evaluate requests, deletions included: evaluate is the one writer of verdicts. */
  queue: EvaluateQueue;
  /** Basic scanning only: enhanced (Inspector) scanning rescans continuously by itself. */
  scans?: ScanStarter;
  policy: Policy;
  /** Registries this planner owns (`<account>.dkr.ecr.<region>.amazonaws.com`). */
  registries: string[];
  /** Repository globs to reconcile (default every repository). */
  watch?: string[];
  scanning: ScanningMode;
  clock?: Clock;
  /** Milliseconds left in this invocation (Lambda's getRemainingTimeInMillis). */
  remainingMs?: () => number;
  /** Time kept back to save the checkpoint and ask for a continuation. */
  reserveMs?: number;
  /** Start a scan this long before maxScanAge runs out. */
  renewAheadMs?: number;
  /** StartImageScan calls per run at most: ECR's 100,000 basic scans a day include pushes. */
  maxScansPerRun?: number;
  /** Evaluate requests for freshly scanned images wait this long (SQS DelaySeconds, ≤ 900). */
  scanSettleSeconds?: number;
  /** After this many refusals in a row the daily quota is taken as spent: no more scans this run. */
  quotaStreak?: number;
  /** Images per step between cut-off checks. */
  chunkSize?: number;
  checkpointEveryMs?: number;
  /** Plan and count only: nothing is sent or scanned (so nothing deleted). */
  dryRun?: boolean;
  log?: Log;
}

export interface PlanProgress {
  cursor?: RescanCursor;
  totals: RescanTotals;
}

export interface PlanResult extends PlanProgress {
  finished: boolean;
}

interface Visit {
  id: string;
  registry: string;
  repository: string;
  watched: boolean;
}

/**
 * One invocation's share of a nightly run (DESIGN §3, rescan-planner): joins the verdict
 * table with what ECR lists, repository by repository in a fixed order, and for each
 * image starts a due basic scan, asks for an evaluation or confirms a deletion. Stops at a
 * chunk boundary when the invocation runs out of time; `start.cursor` resumes it.
 */
export async function planRescan(
  start: PlanProgress,
  options: RescanPlannerOptions,
  save: (progress: PlanProgress) => Promise<void> = async () => {},
): Promise<PlanResult> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? silentLog;
  const remaining = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);
  const reserve = options.reserveMs ?? 60_000;
  const chunkSize = options.chunkSize ?? 100;
  const checkpointEvery = options.checkpointEveryMs ?? 5_000;
  const outOfTime = () => remaining() < reserve;
  const step = new ChunkRunner(options, log);
  let { cursor, totals } = start;
  let savedAt = clock().getTime();
  const stop = (): PlanResult => ({ finished: false, totals, ...(cursor && { cursor }) });
  // Checkpoints between stops are for crashes: at most every few seconds.
  const progress = async () => {
    const now = clock().getTime();
    if (now - savedAt < checkpointEvery) return;
    await save({ totals, ...(cursor && { cursor }) });
    savedAt = now;
  };

  if (outOfTime()) return stop();
  const known = await loadCatalog(options);
  for (const visit of await repositoriesToVisit(options, known)) {
    if (repositoryDone(cursor, visit.id)) continue;
    if (outOfTime()) return stop();
    const resumed = cursor?.repository === visit.id;
    const knownHere = known.get(visit.id) ?? new Map<string, KnownImage>();
    let listing: RepositoryListing;
    try {
      listing = await listRepository(visit, options);
    } catch (error) {
      // Fail static: a repository we cannot list keeps its verdicts; nothing is deleted.
      log.error('cannot list repository; its images are left as they are this run', {
        repository: visit.id,
        error: (error as Error).message,
      });
      totals = addTotals(totals, { repositoryErrors: 1 });
      cursor = { repository: visit.id };
      continue;
    }
    const planned = planRepository(listing, knownHere, {
      policy: options.policy,
      now: clock(),
      scanning: options.scanning,
      watched: visit.watched,
      renewAheadMs: options.renewAheadMs ?? DAY_MS,
    });
    if (!resumed) {
      totals = addTotals(totals, {
        repositories: 1,
        listed: (listing.images ?? []).filter((f) => !isSupplyChainArtifact(f)).length,
        known: [...knownHere.values()].filter((k) => !k.deleted).length,
      });
    }
    const todo = remainingAfter(cursor, visit.id, planned);
    for (let i = 0; i < todo.length; i += chunkSize) {
      if (outOfTime()) return stop();
      const chunk = todo.slice(i, i + chunkSize);
      totals = addTotals(totals, await step.run(chunk, totals));
      const last = chunk.at(-1);
      if (last) cursor = { repository: visit.id, digest: last.key.digest };
      await progress();
    }
    cursor = { repository: visit.id };
    await progress();
  }
  return { finished: true, totals, ...(cursor && { cursor }) };
}

/** Known digests of the planner's registries, by repository. */
async function loadCatalog(
  options: RescanPlannerOptions,
): Promise<Map<string, Map<string, KnownImage>>> {
  const registries = new Set(options.registries);
  const known = new Map<string, Map<string, KnownImage>>();
  for await (const page of options.catalog.pages()) {
    for (const record of page) {
      // Other accounts' images in a shared table belong to their own planner.
      if (!registries.has(record.registry)) continue;
      const id = repositoryId(record.registry, record.repository);
      const images = known.get(id) ?? new Map<string, KnownImage>();
      known.set(id, images);
      images.set(record.digest, knownImageOf(record));
    }
  }
  return known;
}

/** Watched repositories of each registry, plus any the table still names, in a fixed order. */
async function repositoriesToVisit(
  options: RescanPlannerOptions,
  known: Map<string, Map<string, KnownImage>>,
): Promise<Visit[]> {
  const watch = options.watch ?? ['**'];
  const visits = new Map<string, Visit>();
  for (const registry of options.registries) {
    for await (const page of options.repositories.listRepositories(registry)) {
      for (const repository of page) {
        if (!matchesAnyGlob(repository, watch)) continue;
        const id = repositoryId(registry, repository);
        visits.set(id, { id, registry, repository, watched: true });
      }
    }
  }
  for (const registry of options.registries) {
    for (const id of known.keys()) {
      if (visits.has(id) || !id.startsWith(`${registry}/`)) continue;
      const repository = id.slice(registry.length + 1);
      visits.set(id, { id, registry, repository, watched: false });
    }
  }
  return [...visits.values()].sort((a, b) => compare(a.id, b.id));
}

async function listRepository(
  visit: Visit,
  options: RescanPlannerOptions,
): Promise<RepositoryListing> {
  const { registry, repository } = visit;
  const images: ImageFacts[] = [];
  try {
    for await (const page of options.images.listImages(registry, repository)) images.push(...page);
  } catch (error) {
    if (isRepositoryGone(error)) return { registry, repository, children: new Map() };
    throw error;
  }
  const indexes = images
    .filter((f) => isIndexMediaType(f.mediaType) && !isSupplyChainArtifact(f))
    .map((f) => f.key.digest);
  const children =
    indexes.length > 0
      ? await options.repositories.indexChildren(registry, repository, indexes)
      : new Map();
  return { registry, repository, images, children };
}

function isRepositoryGone(error: unknown): boolean {
  const e = error as { name?: string; cause?: { name?: string } } | undefined;
  return (
    e?.name === 'RepositoryNotFoundException' || e?.cause?.name === 'RepositoryNotFoundException'
  );
}

/** Carries out planned images a chunk at a time: scans, deletion checks, then one queue send. */
class ChunkRunner {
  private readonly limit = limiter(4);
  private refusalsInARow = 0;
  private quotaSpent = false;

  constructor(
    private readonly options: RescanPlannerOptions,
    private readonly log: Log,
  ) {}

  async run(chunk: PlannedImage[], totals: RescanTotals): Promise<Partial<RescanTotals>> {
    const delta: Partial<Record<keyof RescanTotals, number>> = {};
    const count = (k: keyof RescanTotals, n = 1) => {
      delta[k] = (delta[k] ?? 0) + n;
    };
    const requests: PlannedRequest[] = [];
    // Taken before each call, so concurrent items never overshoot the run's budget.
    let scanBudget = (this.options.maxScansPerRun ?? 50_000) - totals.scansStarted;
    await Promise.all(
      chunk.map((item) =>
        this.limit(async () => {
          if (item.action === 'confirm-deleted') {
            const request = await this.confirmDeleted(item.key, count);
            if (request) requests.push(request);
            return;
          }
          let scanned = false;
          for (const digest of item.scanTargets) {
            if (this.quotaSpent || scanBudget <= 0) break;
            scanBudget -= 1;
            const started = await this.startScan({ ...item.key, digest }, count);
            if (!started) scanBudget += 1;
            scanned = started || scanned;
          }
          const settle = this.options.scanSettleSeconds ?? 300;
          requests.push({
            key: item.key,
            trigger: item.action === 'reconcile' ? 'reconcile' : 'rescan',
            ...(scanned && settle > 0 && { delaySeconds: settle }),
            ...(!scanned && item.seen && { seen: item.seen }),
          });
          count(item.action === 'reconcile' ? 'missing' : 'rescans');
        }),
      ),
    );
    requests.sort((a, b) => compare(a.key.digest, b.key.digest));
    if (!this.options.dryRun && requests.length > 0) await this.options.queue.send(requests);
    count('planned', requests.filter((r) => r.trigger !== 'delete').length);
    return delta;
  }

  /** True when a scan was started (or, in a dry run, would be). */
  private async startScan(key: ImageKey, count: (k: keyof RescanTotals) => void): Promise<boolean> {
    const scans = this.options.scans;
    if (!scans) return false;
    if (this.options.dryRun) {
      count('scansStarted');
      return true;
    }
    const { result, message } = await scans.startScan(key);
    if (result === 'started') {
      this.refusalsInARow = 0;
      count('scansStarted');
      return true;
    }
    if (result === 'not-possible') {
      count('scansNotPossible');
      this.refusalsInARow += 1;
      if (this.refusalsInARow >= (this.options.quotaStreak ?? 25) && !this.quotaSpent) {
        this.quotaSpent = true;
        this.log.warn('ECR refused scans in a row: taking the daily scan quota as spent', {
          refusals: this.refusalsInARow,
          last: message,
        });
      }
    } else if (result === 'throttled') count('scansThrottled');
    else if (result === 'failed') {
      count('scansFailed');
      this.log.warn('StartImageScan failed', { image: imageId(key), error: message });
    }
    return false;
  }

  /**
   * Checks once more that the image is gone: a survivor is rescanned, a confirmed deletion is
   * a `delete` request, as ECR's own delete event would be. Evaluate, the one writer of
   * verdicts, describes the image again and records the deletion (docs/rescans.md).
   */
  private async confirmDeleted(
    key: ImageKey,
    count: (k: keyof RescanTotals) => void,
  ): Promise<PlannedRequest | undefined> {
    let facts: ImageFacts | undefined;
    try {
      facts = await this.options.images.describeImage(key);
    } catch (error) {
      count('imageErrors');
      this.log.error('cannot confirm a deletion; the verdict stays', {
        image: imageId(key),
        error: (error as Error).message,
      });
      return undefined;
    }
    if (facts) {
      count('rescans');
      return { key, trigger: 'rescan' };
    }
    count('deleted');
    return { key, trigger: 'delete' };
  }
}
