import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SequenceCounter } from '../../ports/publishing';
import { withRetry } from '../../retry';
import { documentClient } from './dynamodb-verdict-store';
import { VERDICT_TABLE as T } from './verdict-table';

/**
 * The allowlist sequence: an atomic ADD on the counter item (`pk = ALLOWLIST`,
 * `sk = SEQUENCE`). Every call returns a number no other call returned, strictly larger
 * than all before it.
 */
export class DynamoDbSequenceCounter implements SequenceCounter {
  private readonly client: DynamoDBDocumentClient;

  constructor(
    private readonly tableName: string,
    client?: DynamoDBDocumentClient,
  ) {
    this.client = client ?? documentClient();
  }

  async next(atLeast = 0): Promise<number> {
    const value = await this.add();
    if (value >= atLeast) return value;
    // The counter fell behind what is published (a restored or recreated table): raise it
    // so consumers never see a lower sequence, then draw again.
    await withRetry(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(),
          UpdateExpression: 'SET #value = :floor',
          ConditionExpression: '#value < :floor',
          ExpressionAttributeNames: { '#value': 'value' },
          ExpressionAttributeValues: { ':floor': atLeast - 1 },
        }),
      ),
    ).catch((error: Error) => {
      if (error.name !== 'ConditionalCheckFailedException') throw error;
    });
    return this.add();
  }

  private key() {
    return { [T.partitionKey]: T.counterPartitionKey, [T.sortKey]: T.counterSortKey };
  }

  private async add(): Promise<number> {
    const out = await withRetry(() =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(),
          UpdateExpression: 'ADD #value :one',
          ExpressionAttributeNames: { '#value': 'value' },
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    return Number(out.Attributes?.value);
  }
}
