import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { SqsRebuildTrigger } from '../adapters/aws/allowlist-trigger';
import { type BatchMetrics, publishBatchFigures } from '../adapters/aws/batch-metrics';
import { DeliveryMarkers } from '../adapters/aws/delivery-markers';
import { S3RecordParking } from '../adapters/aws/s3-record-parking';
import { SnsPublisher } from '../adapters/aws/sns-publisher';
import { streamChangesOf, streamEnvelope } from '../adapters/aws/stream-records';
import { InvalidEventError } from '../domain/errors';
import { readEnvironmentOf } from '../environment';
import type { Log } from '../ports';
import type { IdempotencyStore } from '../ports/publishing';
import { changesEnvironment } from '../publishing-config';
import { type AnnounceChangesOptions, announceChanges } from '../services/announce-changes';

/**
 * The changes hop's composition root: the Lambda (functions/changes), `registry-watcher
 * replay` and `npm start` (cli/local) announce verdict transitions with these ports.
 */

/** DynamoDB stream batch → announceChanges → at most one batch item failure (the first). */
export function createChangesHandler(
  options: () => AnnounceChangesOptions,
  sink: BatchMetrics,
  log: Log,
) {
  let resolved: AnnounceChangesOptions | undefined;
  return async (event: unknown): Promise<DynamoDBBatchResponse> => {
    resolved ??= options();
    const parsed = streamEnvelope.safeParse(event);
    if (!parsed.success) {
      throw new InvalidEventError('not a DynamoDB stream event', { cause: parsed.error });
    }
    const changes = streamChangesOf(parsed.data.Records);
    const outcome = await announceChanges(changes, resolved);
    log.info('stream batch announced', { records: changes.length, ...outcome });
    publishBatchFigures(sink, { failures: outcome.failedId ? 1 : 0, parked: outcome.parked });
    return { batchItemFailures: outcome.failedId ? [{ itemIdentifier: outcome.failedId }] : [] };
  };
}

/** Where the verdict events' delivery markers live (channel SNS, in the verdict table). */
export interface ChangesMarkerSettings {
  tableName: string;
  markerLeaseMs?: number;
  /** dynalite or a test table; the shared client otherwise. */
  documents?: DynamoDBDocumentClient;
}

export function verdictEventMarkers(settings: ChangesMarkerSettings): IdempotencyStore {
  return new DeliveryMarkers({
    tableName: settings.tableName,
    channel: 'SNS',
    ...(settings.markerLeaseMs !== undefined && { leaseMs: settings.markerLeaseMs }),
    ...(settings.documents && { client: settings.documents }),
  });
}

export interface AwsChangesSettings extends ChangesMarkerSettings {
  topicArn: string;
  rebuildQueueUrl: string;
  rebuildDebounceMs?: number;
  /** Without it a malformed record fails its batch (replay: the record is already kept). */
  failedRecordsBucket?: string;
}

/** SNS topic, delivery markers, the allowlist's rebuild queue and (optionally) parking. */
export function awsChangesOptions(settings: AwsChangesSettings, log?: Log): AnnounceChangesOptions {
  return {
    publisher: new SnsPublisher(settings.topicArn),
    markers: verdictEventMarkers(settings),
    trigger: new SqsRebuildTrigger(settings.rebuildQueueUrl, settings.rebuildDebounceMs),
    ...(settings.failedRecordsBucket && {
      parking: new S3RecordParking(settings.failedRecordsBucket),
    }),
    ...(log && { log }),
  };
}

/** The function environment (validated once, every problem named) → the AWS ports. */
export function changesOptionsFromEnvironment(
  env: NodeJS.ProcessEnv,
  log: Log,
): AnnounceChangesOptions {
  const settings = readEnvironmentOf(changesEnvironment, env);
  return awsChangesOptions(
    {
      tableName: settings.TABLE_NAME,
      topicArn: settings.VERDICT_TOPIC_ARN,
      rebuildQueueUrl: settings.ALLOWLIST_QUEUE_URL,
      rebuildDebounceMs: settings.REBUILD_DEBOUNCE,
      markerLeaseMs: settings.MARKER_LEASE,
      failedRecordsBucket: settings.FAILED_RECORDS_BUCKET,
    },
    log,
  );
}
