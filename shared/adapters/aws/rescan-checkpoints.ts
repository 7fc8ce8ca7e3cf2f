import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { StoreConflictError } from '../../domain/errors';
import type { RescanCheckpoint, RescanCheckpoints, StoredCheckpoint } from '../../ports/rescan';
import { type RetryOptions, withRetry } from '../../retry';
import { documentClient } from './dynamodb-verdict-store';
import { VERDICT_TABLE as T } from './verdict-table';
import { isConditionFailure, versionCondition } from './version-lock';

/** The checkpoint item: not a verdict (sk is not CURRENT), so stream consumers skip it. */
export const RESCAN_CHECKPOINT_KEY = { [T.partitionKey]: 'RESCAN', [T.sortKey]: 'RUN' } as const;

export interface DynamoDbRescanCheckpointsOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
  retry?: RetryOptions;
}

/** The rescan run's checkpoint as one item of the verdict table, under a version lock. */
export class DynamoDbRescanCheckpoints implements RescanCheckpoints {
  private readonly client: DynamoDBDocumentClient;

  constructor(private readonly options: DynamoDbRescanCheckpointsOptions) {
    this.client = options.client ?? documentClient();
  }

  async load(): Promise<StoredCheckpoint | undefined> {
    const out = await withRetry(
      () =>
        this.client.send(
          new GetCommand({
            TableName: this.options.tableName,
            Key: RESCAN_CHECKPOINT_KEY,
            ConsistentRead: true,
          }),
        ),
      this.options.retry,
    );
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, version, ...checkpoint } = out.Item;
    return { checkpoint: checkpoint as RescanCheckpoint, version: Number(version) };
  }

  async save(checkpoint: RescanCheckpoint, expectedVersion: number): Promise<number> {
    const version = expectedVersion + 1;
    const condition = versionCondition(expectedVersion);
    try {
      await withRetry(
        () =>
          this.client.send(
            new PutCommand({
              TableName: this.options.tableName,
              Item: { ...checkpoint, ...RESCAN_CHECKPOINT_KEY, version },
              ...condition,
            }),
          ),
        this.options.retry,
      );
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new StoreConflictError(
          `rescan checkpoint of run ${checkpoint.runId} moved past version ${expectedVersion}: another invocation took the run over`,
          { cause: error },
        );
      }
      throw error;
    }
    return version;
  }
}
