import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { SqsRebuildTrigger } from '../../shared/adapters/aws/allowlist-trigger';
import {
  type BatchMetrics,
  publishBatchFigures,
  watcherMetrics,
} from '../../shared/adapters/aws/batch-metrics';
import { DeliveryMarkers } from '../../shared/adapters/aws/delivery-markers';
import { S3RecordParking } from '../../shared/adapters/aws/s3-record-parking';
import { SnsPublisher } from '../../shared/adapters/aws/sns-publisher';
import { streamChangesOf, streamEnvelope } from '../../shared/adapters/aws/stream-records';
import { InvalidEventError } from '../../shared/domain/errors';
import { changesEnvironment, readEnvironmentOf } from '../../shared/publishing-config';
import {
  type AnnounceChangesOptions,
  announceChanges,
} from '../../shared/services/announce-changes';

export const logger = new Logger({ serviceName: 'registry-watcher', logRecordOrder: ['message'] });
const metrics = watcherMetrics('changes');

/** Builds the handler around its ports; tests and `npm start` pass their own. */
export function createHandler(options: () => AnnounceChangesOptions, sink: BatchMetrics = metrics) {
  let resolved: AnnounceChangesOptions | undefined;
  return async (event: unknown): Promise<DynamoDBBatchResponse> => {
    resolved ??= options();
    const parsed = streamEnvelope.safeParse(event);
    if (!parsed.success) {
      throw new InvalidEventError('not a DynamoDB stream event', { cause: parsed.error });
    }
    const changes = streamChangesOf(parsed.data.Records);
    const outcome = await announceChanges(changes, resolved);
    logger.info('stream batch announced', { records: changes.length, ...outcome });
    publishBatchFigures(sink, { failures: outcome.failedId ? 1 : 0, parked: outcome.parked });
    return { batchItemFailures: outcome.failedId ? [{ itemIdentifier: outcome.failedId }] : [] };
  };
}

export const handler = createHandler(() => {
  const env = readEnvironmentOf(changesEnvironment);
  return {
    publisher: new SnsPublisher(env.VERDICT_TOPIC_ARN),
    markers: new DeliveryMarkers({
      tableName: env.TABLE_NAME,
      channel: 'SNS',
      leaseMs: env.MARKER_LEASE,
    }),
    trigger: new SqsRebuildTrigger(env.ALLOWLIST_QUEUE_URL, env.REBUILD_DEBOUNCE),
    parking: new S3RecordParking(env.FAILED_RECORDS_BUCKET),
    log: logger,
  };
});
