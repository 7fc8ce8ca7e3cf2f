import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { DAY_MS } from '../../domain/duration';
import { StoreConflictError } from '../../domain/errors';
import { type ImageKey, imageId } from '../../domain/image-ref';
import { isAdmitted } from '../../domain/verdict';
import type { VerdictRecord, WritePlan } from '../../domain/verdict-record';
import type { VerdictStore } from '../../ports';
import { withRetry } from '../../retry';
import { awsClient } from './clients';
import { admittedShard, imagePartitionKey, VERDICT_TABLE as T } from './verdict-table';
import { isConditionFailure, versionCondition } from './version-lock';

export interface DynamoDbVerdictStoreOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
  /** How long transition history items live. */
  historyDays?: number;
}

export function documentClient(
  client: DynamoDBClient = awsClient(DynamoDBClient),
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

type Item = VerdictRecord & { pk: string; sk: string; admitted?: number };

/** Verdict store on one DynamoDB table, written with optimistic locking on `version`. */
export class DynamoDbVerdictStore implements VerdictStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly historyMs: number;

  constructor(private readonly options: DynamoDbVerdictStoreOptions) {
    this.client = options.client ?? documentClient();
    this.historyMs = (options.historyDays ?? 400) * DAY_MS;
  }

  async get(key: ImageKey): Promise<VerdictRecord | undefined> {
    const out = await withRetry(() =>
      this.client.send(
        new GetCommand({
          TableName: this.options.tableName,
          Key: { [T.partitionKey]: imagePartitionKey(key), [T.sortKey]: T.currentSortKey },
          ConsistentRead: true,
        }),
      ),
    );
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, admitted: _admitted, ...record } = out.Item as Item;
    return record;
  }

  /**
   * CURRENT is the source of truth and is written first, under the version lock. A
   * transition's history item follows with a key derived from the record, so a retried
   * write lands on the same item. (Not a transaction: that doubles write cost, and the
   * stream still carries every transition should the history write fail.)
   */
  async write(plan: WritePlan): Promise<void> {
    const { record, expectedVersion } = plan;
    const pk = imagePartitionKey(record);
    const condition = versionCondition(expectedVersion);
    try {
      if (plan.kind === 'touch') {
        await withRetry(() =>
          this.client.send(
            new UpdateCommand({
              TableName: this.options.tableName,
              Key: { pk, sk: T.currentSortKey },
              UpdateExpression: 'SET evaluatedAt = :at',
              ...condition,
              ExpressionAttributeValues: {
                ...condition.ExpressionAttributeValues,
                ':at': record.evaluatedAt,
              },
            }),
          ),
        );
      } else if (plan.kind !== 'none') {
        await withRetry(() =>
          this.client.send(
            new PutCommand({
              TableName: this.options.tableName,
              Item: this.item(pk, record),
              ...condition,
            }),
          ),
        );
      }
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new StoreConflictError(
          `verdict of ${imageId(record)} is no longer at version ${expectedVersion}`,
          { cause: error },
        );
      }
      throw error;
    }
    if (plan.kind === 'transition') {
      await withRetry(() =>
        this.client.send(
          new PutCommand({ TableName: this.options.tableName, Item: this.historyItem(pk, record) }),
        ),
      );
    }
  }

  private item(pk: string, record: VerdictRecord): Item {
    const admitted = isAdmitted(record.verdict) && !record.deletedAt;
    return {
      ...record,
      pk,
      sk: T.currentSortKey,
      ...(admitted && { admitted: admittedShard(pk) }),
    };
  }

  private historyItem(pk: string, record: VerdictRecord): Record<string, unknown> {
    const at = record.transitionAt ?? record.evaluatedAt;
    return {
      pk,
      // The version suffix keeps two transitions in the same millisecond apart.
      sk: `${T.historyPrefix}${at}#${String(record.version).padStart(8, '0')}`,
      transitionId: record.transitionId,
      verdict: record.verdict,
      previousVerdict: record.previousVerdict,
      deletedAt: record.deletedAt,
      reasons: record.reasons,
      severityCounts: record.severityCounts,
      policyHash: record.policyHash,
      version: record.version,
      [T.ttlAttribute]: Math.floor((Date.parse(at) + this.historyMs) / 1000),
    };
  }
}
