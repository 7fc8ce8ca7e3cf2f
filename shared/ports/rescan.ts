/**
 * Ports of the nightly rescan planner (DESIGN §3, rescan-planner). Kept apart from
 * ports/index.ts, which holds the evaluation ports.
 */
import type { Trigger } from '../domain/evaluate-request';
import type { ImageFacts } from '../domain/image-facts';
import type { ImageKey } from '../domain/image-ref';
import type { IndexChildren, RescanCursor, RescanTotals } from '../domain/rescan';

/** Repositories of a registry and the children of image indexes (ECR in AWS). */
export interface RepositorySource {
  listRepositories(registry: string): AsyncIterable<string[]>;
  /** Child manifests of each index digest still present (BatchGetImage, 100 per call). */
  indexChildren(
    registry: string,
    repository: string,
    indexDigests: string[],
  ): Promise<Map<string, IndexChildren>>;
}

/**
 * `not-possible`: ECR refused (LimitExceededException): the image was scanned within
 * 24 h or the regional daily quota is used up. Not retried, unlike throttling.
 */
export type ScanStart =
  | 'started'
  | 'not-possible'
  | 'throttled'
  | 'unsupported'
  | 'not-found'
  | 'failed';

/** Starts basic scans (ECR StartImageScan). Per-image refusals are answers, not exceptions. */
export interface ScanStarter {
  startScan(key: ImageKey): Promise<{ result: ScanStart; message?: string }>;
}

export interface PlannedRequest {
  key: ImageKey;
  /** `delete`: the registry no longer has the image; evaluate records the deletion. */
  trigger: Extract<Trigger, 'rescan' | 'reconcile' | 'delete'>;
  /** Held back this long (a scan was just started, let it finish first). */
  delaySeconds?: number;
  /** What the listing showed, sent only when no scan was started since (docs/rescans.md, Facts). */
  seen?: ImageFacts;
}

/** The evaluate queue (SQS in AWS). `send` resolves once every request is accepted. */
export interface EvaluateQueue {
  send(requests: PlannedRequest[]): Promise<void>;
}

/** Where a run stands; one run at a time, guarded by a lease. */
export interface RescanCheckpoint {
  runId: string;
  status: 'running' | 'complete';
  startedAt: string;
  updatedAt: string;
  completedAt?: string;
  cursor?: RescanCursor;
  totals: RescanTotals;
  invocations: number;
  /** The invocation working on the run, until `leaseUntil`. */
  owner?: string;
  leaseUntil?: string;
}

export interface StoredCheckpoint {
  checkpoint: RescanCheckpoint;
  /** Optimistic lock, as for verdicts. */
  version: number;
}

export interface RescanCheckpoints {
  load(): Promise<StoredCheckpoint | undefined>;
  /**
   * Writes if the stored version is still `expectedVersion` (0: none stored) and returns
   * the new version; throws StoreConflictError otherwise.
   */
  save(checkpoint: RescanCheckpoint, expectedVersion: number): Promise<number>;
}

/** Asks for another invocation to carry the run on (an SQS message to the planner in AWS). */
export interface RescanContinuation {
  request(runId: string): Promise<void>;
}
