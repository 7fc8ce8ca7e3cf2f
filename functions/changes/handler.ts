import { Logger } from '@aws-lambda-powertools/logger';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import * as z from 'zod';
import { SqsRebuildTrigger } from '../../shared/adapters/aws/allowlist-trigger';
import { DeliveryMarkers } from '../../shared/adapters/aws/delivery-markers';
import { SnsPublisher } from '../../shared/adapters/aws/sns-publisher';
import { InvalidEventError } from '../../shared/domain/errors';
import { changesEnvironment, readEnvironmentOf } from '../../shared/publishing-config';
import {
  type AnnounceChangesOptions,
  announceChanges,
  type StreamChange,
} from '../../shared/services/announce-changes';

const image = z.record(z.string(), z.looseObject({})).optional();
const streamEvent = z.object({
  Records: z.array(
    z.looseObject({
      eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
      dynamodb: z.looseObject({ SequenceNumber: z.string(), NewImage: image, OldImage: image }),
    }),
  ),
});

export const logger = new Logger({ serviceName: 'registry-watcher', logRecordOrder: ['message'] });

function item(attributes: Record<string, object> | undefined) {
  return attributes && unmarshall(attributes as Record<string, AttributeValue>);
}

/** Builds the handler around its ports; tests and `npm start` pass their own. */
export function createHandler(options: () => AnnounceChangesOptions) {
  let resolved: AnnounceChangesOptions | undefined;
  return async (event: unknown): Promise<DynamoDBBatchResponse> => {
    resolved ??= options();
    const parsed = streamEvent.safeParse(event);
    if (!parsed.success) {
      throw new InvalidEventError('not a DynamoDB stream event', { cause: parsed.error });
    }
    const changes: StreamChange[] = parsed.data.Records.map((r) => ({
      id: r.dynamodb.SequenceNumber,
      ...(r.dynamodb.OldImage && { oldItem: item(r.dynamodb.OldImage) }),
      ...(r.dynamodb.NewImage && { newItem: item(r.dynamodb.NewImage) }),
    }));
    const outcome = await announceChanges(changes, resolved);
    logger.info('stream batch announced', { records: changes.length, ...outcome });
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
    log: logger,
  };
});
