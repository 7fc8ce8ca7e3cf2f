import { sigstoreAllowlistSignatures } from '../../shared/adapters/sigstore/allowlist-signatures';
import { parseAllowlist } from '../../shared/domain/allowlist';
import { AllowlistRejectedError, type AllowlistRejection } from '../../shared/domain/errors';
import { type Clock, type Log, silentLog, systemClock } from '../../shared/ports';
import { verifyAllowlist } from '../../shared/services/verify-allowlist';
import { type AllowlistIndex, indexAllowlist } from './allowlist-index';
import {
  type AllowlistSource,
  DEFAULT_DEADLINE_MS,
  type FetchFailure,
  SourceError,
} from './sources';

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
  /** When the current document was last confirmed (fetched or 304). */
  lastSuccessAt: Date | undefined;

  constructor(private readonly options: HolderOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLog;
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
    let bundle: unknown;
    try {
      bundle = JSON.parse(fetched.bundle.toString('utf8'));
    } catch {
      return { result: 'rejected', reason: 'SIGNATURE_INVALID', message: 'the bundle is not JSON' };
    }
    try {
      const allowlist = verifyAllowlist(fetched.document, bundle, {
        publicKeyPem: this.options.publicKeyPem,
        now,
        signatures: sigstoreAllowlistSignatures,
        ...(held !== undefined && { minSequence: held }),
      });
      this.swap(indexAllowlist(allowlist, { tags: this.options.tags }), fetched.etag, now);
      return { result: 'updated', sequence: allowlist.sequence };
    } catch (error) {
      if (!(error instanceof AllowlistRejectedError)) throw error;
      if (error.reason !== 'EXPIRED') {
        return { result: 'rejected', reason: error.reason, message: error.message };
      }
      // verifyAllowlist checks signature, schema and rollback before freshness, so an
      // EXPIRED document is authentic and not older than ours: stale, not forged.
      const stale = parseAllowlist(fetched.document);
      const heldFresh = this.index !== undefined && this.index.validUntilMs > now.getTime();
      if (heldFresh) return { result: 'stale', sequence: stale.sequence, held: false };
      this.swap(indexAllowlist(stale, { tags: this.options.tags }), fetched.etag, now);
      return { result: 'stale', sequence: stale.sequence, held: true };
    }
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
    this.lastSuccessAt = now;
  }
}
