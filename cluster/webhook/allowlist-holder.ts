import type { AllowlistRejection } from '../../shared/domain/errors';
import { type Clock, type Log, silentLog, systemClock } from '../../shared/ports';
import type { AllowlistIndex } from './allowlist-index';
import {
  type AllowlistSource,
  DEFAULT_DEADLINE_MS,
  type FetchFailure,
  SourceError,
} from './sources';
import { type AllowlistVerifier, inlineVerifier, WorkerVerifier } from './verify-worker';

export type RefreshOutcome =
  | { result: 'updated'; sequence: number }
  /** Verified but past `validUntil`: held only when nothing better is, so failureMode applies. */
  | { result: 'stale'; sequence: number; held: boolean }
  | { result: 'not-modified' }
  | { result: 'rejected'; reason: AllowlistRejection; message: string }
  | { result: 'unreachable'; reason: FetchFailure; message: string };

export interface HolderOptions {
  source: AllowlistSource;
  publicKeyPem: string;
  /** Build the tag map (only `resolveTags` needs it). */
  tags: boolean;
  clock?: Clock;
  log?: Log;
  onRefresh?: (outcome: RefreshOutcome) => void;
  /**
   * Longest wait for one fetch, whatever the source does (its own deadline should end it
   * first): past it the refresh reports TIMEOUT and the next one may start.
   */
  fetchDeadlineMs?: number;
  /**
   * Where documents are verified and indexed: by default a worker thread, off the
   * admission path (verify-worker.ts); `inlineVerifier` does it on the serving thread.
   */
  verifier?: AllowlistVerifier;
}

/**
 * Holds the last good signed allowlist in memory (fail static) and replaces it only with one
 * that verifies: signature over the exact bytes, schema, no lower `sequence`, not expired.
 */
export class AllowlistHolder {
  private index: AllowlistIndex | undefined;
  private etag: string | undefined;
  private inFlight: Promise<RefreshOutcome> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: Clock;
  private readonly log: Log;
  private readonly verifier: AllowlistVerifier;
  /** When the current document was last confirmed (fetched or 304). */
  lastSuccessAt: Date | undefined;

  constructor(private readonly options: HolderOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLog;
    this.verifier = options.verifier ?? new WorkerVerifier(this.log);
  }

  /** The allowlist decisions use now; undefined until one verified. */
  current(): AllowlistIndex | undefined {
    return this.index;
  }

  /** Concurrent callers share one fetch. */
  refresh(): Promise<RefreshOutcome> {
    this.inFlight ??= this.load().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Refreshes every `intervalMs` (±10 % jitter so replicas do not poll in step); until the
   * first allowlist verifies, retries sooner with exponential backoff from 1 s.
   */
  start(intervalMs: number): Promise<RefreshOutcome> {
    let attempt = 0;
    const tick = async (): Promise<RefreshOutcome> => {
      const outcome = await this.refresh();
      attempt = this.index ? 0 : attempt + 1;
      const base = this.index ? intervalMs : Math.min(intervalMs, 1000 * 2 ** (attempt - 1));
      const delay = Math.round(base * (0.9 + Math.random() * 0.2));
      this.timer = setTimeout(() => void tick(), delay);
      this.timer.unref();
      return outcome;
    };
    return tick();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.verifier.close();
  }

  private async load(): Promise<RefreshOutcome> {
    const outcome = await this.attempt();
    this.options.onRefresh?.(outcome);
    const { source } = this.options;
    if (outcome.result === 'rejected' || outcome.result === 'unreachable') {
      // `detail`, not `message`: Powertools Logger reserves `message` and drops the field.
      const { message: detail, ...rest } = outcome;
      this.log.error('allowlist refresh failed; keeping the last good allowlist', {
        source: source.location,
        ...rest,
        detail,
        heldSequence: this.index?.allowlist.sequence,
        heldValidUntil: this.index?.allowlist.validUntil,
      });
    } else if (outcome.result !== 'not-modified') {
      this.log.info(`allowlist ${outcome.result}`, {
        source: source.location,
        ...outcome,
        digests: this.index?.digests,
        validUntil: this.index?.allowlist.validUntil,
      });
    }
    return outcome;
  }

  private async attempt(): Promise<RefreshOutcome> {
    let fetched: Awaited<ReturnType<AllowlistSource['fetch']>>;
    try {
      fetched = await this.fetchWithin(this.options.fetchDeadlineMs ?? DEFAULT_DEADLINE_MS + 1000);
    } catch (error) {
      const reason = error instanceof SourceError ? error.reason : 'UNREACHABLE';
      return { result: 'unreachable', reason, message: (error as Error).message };
    }
    if (fetched.status === 'not-modified') {
      this.lastSuccessAt = this.clock();
      return { result: 'not-modified' };
    }
    const now = this.clock();
    const held = this.index?.allowlist.sequence;
    const heldFresh = this.index !== undefined && this.index.validUntilMs > now.getTime();
    // Nothing is served before the first document: that one is verified here, at once.
    const verifier = this.index ? this.verifier : inlineVerifier;
    const verdict = await verifier.verify({
      document: fetched.document,
      bundle: fetched.bundle,
      publicKeyPem: this.options.publicKeyPem,
      nowMs: now.getTime(),
      ...(held !== undefined && { minSequence: held }),
      tags: this.options.tags,
      keepExpired: !heldFresh,
    });
    if (verdict.result === 'rejected') return verdict;
    if (verdict.result === 'verified') {
      this.swap(verdict.index, fetched.etag, now);
      return { result: 'updated', sequence: verdict.index.allowlist.sequence };
    }
    // Authentic and not older than ours, only past validUntil: held when nothing better is.
    if (heldFresh || !verdict.index) {
      return { result: 'stale', sequence: verdict.sequence, held: false };
    }
    this.swap(verdict.index, fetched.etag, now);
    return { result: 'stale', sequence: verdict.sequence, held: true };
  }

  /** A hung fetch is abandoned, not awaited: serving and the next refresh go on. */
  private fetchWithin(ms: number): ReturnType<AllowlistSource['fetch']> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new SourceError(
              'TIMEOUT',
              `${this.options.source.location}: the fetch did not end within ${ms} ms`,
            ),
          ),
        ms,
      );
      timer.unref();
    });
    return Promise.race([this.options.source.fetch(this.etag), expired]).finally(() =>
      clearTimeout(timer),
    );
  }

  private swap(index: AllowlistIndex, etag: string | undefined, now: Date): void {
    if (index.skipped.length > 0) {
      this.log.warn('allowlist repositories that are not image names were ignored', {
        skipped: index.skipped.slice(0, 10),
      });
    }
    this.index = index;
    this.etag = etag;
    this.verifier.warm?.();
    this.lastSuccessAt = now;
  }
}
