import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { DAY_MS } from '../../domain/duration';
import type { ClaimResult, IdempotencyStore } from '../../ports/publishing';
import { withRetry } from '../../retry';
import { documentClient } from './dynamodb-verdict-store';
import { VERDICT_TABLE as T } from './verdict-table';

export interface DeliveryMarkersOptions {
  tableName: string;
  /** Which delivery the markers are about: `SNS` (changes), `SLACK` (notify). */
  channel: string;
  client?: DynamoDBDocumentClient;
  /** How long a claim blocks other deliveries before it counts as abandoned. */
  leaseMs?: number;
  /** How long a completed marker is kept (longer than any redelivery: stream records live 24 h). */
  retentionMs?: number;
}

export const MARKER_PREFIX = 'EVENT#';

/**
 * Delivery markers in the verdict table (`pk = EVENT#<id>`, `sk = <channel>`, with TTL),
 * in the Powertools idempotency pattern: a conditional put claims the delivery with a
 * lease, the delivery happens, the marker is completed. A crash between delivery and
 * completion delivers again once the lease ends: at-least-once, never lost.
 */
export class DeliveryMarkers implements IdempotencyStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly leaseMs: number;
  private readonly retentionMs: number;

  constructor(private readonly options: DeliveryMarkersOptions) {
    this.client = options.client ?? documentClient();
    this.leaseMs = options.leaseMs ?? 5 * 60_000;
    this.retentionMs = options.retentionMs ?? 7 * DAY_MS;
  }

  private key(id: string) {
    return { [T.partitionKey]: `${MARKER_PREFIX}${id}`, [T.sortKey]: this.options.channel };
  }

  async claim(id: string, now: Date): Promise<ClaimResult> {
    try {
      await withRetry(() =>
        this.client.send(
          new PutCommand({
            TableName: this.options.tableName,
            Item: {
              ...this.key(id),
              status: 'IN_PROGRESS',
              leaseUntil: now.getTime() + this.leaseMs,
              [T.ttlAttribute]: Math.floor((now.getTime() + this.retentionMs) / 1000),
            },
            ConditionExpression:
              'attribute_not_exists(pk) OR (#status = :inProgress AND leaseUntil < :now)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS', ':now': now.getTime() },
          }),
        ),
      );
      return 'claimed';
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
    const out = await withRetry(() =>
      this.client.send(
        new GetCommand({
          TableName: this.options.tableName,
          Key: this.key(id),
          ConsistentRead: true,
        }),
      ),
    );
    return out.Item?.status === 'COMPLETED' ? 'done' : 'busy';
  }

  async complete(id: string, now: Date): Promise<void> {
    await withRetry(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.key(id),
          UpdateExpression: 'SET #status = :completed, completedAt = :at REMOVE leaseUntil',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':completed': 'COMPLETED', ':at': now.toISOString() },
        }),
      ),
    );
  }

  async release(id: string): Promise<void> {
    try {
      await withRetry(() =>
        this.client.send(
          new DeleteCommand({
            TableName: this.options.tableName,
            Key: this.key(id),
            ConditionExpression: '#status = :inProgress',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS' },
          }),
        ),
      );
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
}
