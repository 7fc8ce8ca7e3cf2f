import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import { DynamoDbAdmittedImages } from '../../shared/adapters/aws/admitted-images';
import { DynamoDbSequenceCounter } from '../../shared/adapters/aws/allowlist-sequence';
import {
  ALLOWLIST_PUBLISHED,
  type BatchMetrics,
  watcherMetrics,
} from '../../shared/adapters/aws/batch-metrics';
import { KmsSigner } from '../../shared/adapters/aws/kms-signer';
import { S3AllowlistStore } from '../../shared/adapters/aws/s3-allowlist-store';
import { loadPolicy } from '../../shared/config';
import { type Clock, systemClock } from '../../shared/ports';
import { allowlistEnvironment, readEnvironmentOf } from '../../shared/publishing-config';
import { sleep } from '../../shared/retry';
import {
  type PublishAllowlistOptions,
  publishAllowlist,
} from '../../shared/services/publish-allowlist';

/** SQS FIFO rebuild requests; anything else (the schedule) is a scheduled rebuild. */
const rebuildRequests = z.object({
  Records: z.array(
    z.looseObject({
      eventSource: z.literal('aws:sqs'),
      body: z.string(),
    }),
  ),
});
const requestBody = z.looseObject({ notBefore: z.iso.datetime({ offset: true }) });

export const logger = new Logger({ serviceName: 'registry-watcher', logRecordOrder: ['message'] });
const metrics = watcherMetrics('allowlist');

export interface AllowlistHandlerOptions extends PublishAllowlistOptions {
  /** Longest wait for a debounce window to close (the queue's delivery delay should cover it). */
  maxWaitMs: number;
  wait?: (ms: number) => Promise<void>;
}

/** The latest `notBefore` of the requests: the build must not read the index before it. */
export function notBeforeOf(event: unknown): number | undefined {
  const parsed = rebuildRequests.safeParse(event);
  if (!parsed.success) return undefined;
  const times = parsed.data.Records.flatMap((r) => {
    try {
      const body = requestBody.safeParse(JSON.parse(r.body));
      return body.success ? [Date.parse(body.data.notBefore)] : [];
    } catch {
      return [];
    }
  });
  return times.length > 0 ? Math.max(...times) : undefined;
}

export function createHandler(
  options: () => AllowlistHandlerOptions,
  sink: BatchMetrics = metrics,
) {
  let resolved: AllowlistHandlerOptions | undefined;
  return async (event: unknown) => {
    resolved ??= options();
    const clock: Clock = resolved.clock ?? systemClock;
    const notBefore = notBeforeOf(event);
    const early = notBefore === undefined ? 0 : notBefore - clock().getTime();
    if (early > 0) await (resolved.wait ?? sleep)(Math.min(early, resolved.maxWaitMs));
    // One build per batch, however many requests it holds. A failure throws: the FIFO
    // batch returns to the queue and the rebuild is retried (then the DLQ).
    const result = await publishAllowlist(resolved);
    // Its absence for hours is the allowlist-age alarm (docs/hops.md).
    sink.addMetric(ALLOWLIST_PUBLISHED, MetricUnit.Count, 1);
    sink.publishStoredMetrics();
    return { sequence: result.allowlist.sequence, digests: result.digests, bytes: result.bytes };
  };
}

export const handler = createHandler(() => {
  const env = readEnvironmentOf(allowlistEnvironment);
  return {
    admitted: new DynamoDbAdmittedImages({ tableName: env.TABLE_NAME }),
    sequence: new DynamoDbSequenceCounter(env.TABLE_NAME),
    signer: new KmsSigner(env.ALLOWLIST_KMS_KEY_ID),
    store: new S3AllowlistStore({ bucket: env.ALLOWLIST_BUCKET, prefix: env.ALLOWLIST_PREFIX }),
    policyHash: loadPolicy(env).hash,
    validityMs: env.ALLOWLIST_VALIDITY,
    maxWaitMs: env.REBUILD_DEBOUNCE,
    log: logger,
  };
});
