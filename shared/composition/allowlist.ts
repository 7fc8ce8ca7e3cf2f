import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { DynamoDbAdmittedImages } from '../adapters/aws/admitted-images';
import { DynamoDbSequenceCounter } from '../adapters/aws/allowlist-sequence';
import { ALLOWLIST_PUBLISHED, type BatchMetrics } from '../adapters/aws/batch-metrics';
import { KmsSigner } from '../adapters/aws/kms-signer';
import { DynamoDbRefusedImages } from '../adapters/aws/refused-images';
import { S3AllowlistStore } from '../adapters/aws/s3-allowlist-store';
import { sigstoreAllowlistSignatures } from '../adapters/sigstore/allowlist-signatures';
import { loadPolicy } from '../config';
import { rebuildWaitMs } from '../domain/rebuild-wait';
import { readEnvironmentOf } from '../environment';
import { type Clock, type Log, systemClock } from '../ports';
import type {
  AdmittedImages,
  AllowlistSignatures,
  RefusedImages,
  SequenceCounter,
} from '../ports/publishing';
import { allowlistEnvironment } from '../publishing-config';
import { sleep } from '../retry';
import { type PublishAllowlistOptions, publishAllowlist } from '../services/publish-allowlist';

/**
 * The allowlist hop's composition root: the Lambda (functions/allowlist) and `npm start`
 * (cli/local) build, sign and write the allowlist through this handler and these ports.
 */

/** SQS FIFO rebuild requests; anything else (the schedule) is a scheduled rebuild. */
const rebuildRequests = z.object({
  Records: z.array(
    z.looseObject({
      eventSource: z.literal('aws:sqs'),
      body: z.string(),
    }),
  ),
});
const requestBody = z.looseObject({
  notBefore: z.iso.datetime({ offset: true }),
  dirty: z.array(z.string().max(2048)).max(1000).optional(),
});

export interface AllowlistHandlerOptions extends PublishAllowlistOptions {
  /** Longest wait for a debounce window to close (the queue's delivery delay should cover it). */
  maxWaitMs: number;
  /** Shortest time between the starts of two publishing builds (REBUILD_MIN_INTERVAL). */
  minIntervalMs?: number;
  wait?: (ms: number) => Promise<void>;
}

/** The requests' bodies that parse (a malformed one still asks for a build). */
function requestsOf(event: unknown): z.infer<typeof requestBody>[] {
  const parsed = rebuildRequests.safeParse(event);
  if (!parsed.success) return [];
  return parsed.data.Records.flatMap((r) => {
    try {
      const body = requestBody.safeParse(JSON.parse(r.body));
      return body.success ? [body.data] : [];
    } catch {
      return [];
    }
  });
}

/** The latest `notBefore` of the requests: the build must not read the index before it. */
export function notBeforeOf(event: unknown): number | undefined {
  const times = requestsOf(event).map((r) => Date.parse(r.notBefore));
  return times.length > 0 ? Math.max(...times) : undefined;
}

/** Every record key the requests name as dirty: the build reads them by key. */
export function dirtyOf(event: unknown): string[] {
  return [...new Set(requestsOf(event).flatMap((r) => r.dirty ?? []))];
}

export function createAllowlistHandler(options: () => AllowlistHandlerOptions, sink: BatchMetrics) {
  let resolved: AllowlistHandlerOptions | undefined;
  // Reserved concurrency 1: one container publishes, so its memory is the writer's. A new
  // container publishes at once (one extra publication per cold start at most).
  let lastBuildAt: number | undefined;
  return async (event: unknown) => {
    resolved ??= options();
    const clock: Clock = resolved.clock ?? systemClock;
    const notBefore = notBeforeOf(event);
    const waitMs = rebuildWaitMs({
      now: clock().getTime(),
      ...(notBefore !== undefined && { notBefore }),
      maxWaitMs: resolved.maxWaitMs,
      ...(lastBuildAt !== undefined && { lastBuildAt }),
      minIntervalMs: resolved.minIntervalMs ?? 0,
    });
    if (waitMs > 0) await (resolved.wait ?? sleep)(waitMs);
    // One build per batch, however many requests it holds. A failure throws: the FIFO
    // batch returns to the queue and the rebuild is retried (then the DLQ).
    const startedAt = clock().getTime();
    const result = await publishAllowlist({ ...resolved, recheck: dirtyOf(event) });
    lastBuildAt = startedAt;
    // Its absence for hours is the allowlist-age alarm (docs/hops.md).
    sink.addMetric(ALLOWLIST_PUBLISHED, MetricUnit.Count, 1);
    sink.publishStoredMetrics();
    return { sequence: result.allowlist.sequence, digests: result.digests, bytes: result.bytes };
  };
}

/** The one signature format every publisher and consumer of the allowlist uses. */
export const allowlistSignatures: AllowlistSignatures = sigstoreAllowlistSignatures;

/** The admitted and refused indexes and the sequence counter, all in the verdict table. */
export function allowlistSources(
  tableName: string,
  documents?: DynamoDBDocumentClient,
): { admitted: AdmittedImages; refused: RefusedImages; sequence: SequenceCounter } {
  const options = { tableName, ...(documents && { client: documents }) };
  return {
    admitted: new DynamoDbAdmittedImages(options),
    refused: new DynamoDbRefusedImages(options),
    sequence: new DynamoDbSequenceCounter(tableName, documents),
  };
}

/** The function environment → index, counter, KMS signer, S3 store, the policy's hash. */
export function allowlistOptionsFromEnvironment(
  env: NodeJS.ProcessEnv,
  log: Log,
): AllowlistHandlerOptions {
  const settings = readEnvironmentOf(allowlistEnvironment, env);
  return {
    ...allowlistSources(settings.TABLE_NAME),
    signer: new KmsSigner(settings.ALLOWLIST_KMS_KEY_ID),
    signatures: allowlistSignatures,
    store: new S3AllowlistStore({
      bucket: settings.ALLOWLIST_BUCKET,
      prefix: settings.ALLOWLIST_PREFIX,
    }),
    policyHash: loadPolicy(settings).hash,
    validityMs: settings.ALLOWLIST_VALIDITY,
    maxNotAdmitted: settings.ALLOWLIST_NOT_ADMITTED,
    maxWaitMs: settings.REBUILD_DEBOUNCE,
    minIntervalMs: settings.REBUILD_MIN_INTERVAL,
    log,
  };
}
