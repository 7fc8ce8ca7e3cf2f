import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AdmittedImage } from '../../domain/allowlist';
import { mergeAsync } from '../../merge-async';
import type { AdmittedImages } from '../../ports/publishing';
import { documentClient } from './dynamodb-verdict-store';
import { retriedPages } from './retried-pages';
import { VERDICT_TABLE as T } from './verdict-table';

export interface DynamoDbAdmittedImagesOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
  pageSize?: number;
}

/**
 * Reads the sparse `admitted` index: every shard queried (paginated) and the shards read
 * in parallel, pages yielded as they arrive. The index is eventually consistent; a change
 * missed by a build is in the next one, which its own stream record asked for.
 */
export class DynamoDbAdmittedImages implements AdmittedImages {
  private readonly client: DynamoDBDocumentClient;

  constructor(private readonly options: DynamoDbAdmittedImagesOptions) {
    this.client = options.client ?? documentClient();
  }

  pages(): AsyncIterable<AdmittedImage[]> {
    return mergeAsync(Array.from({ length: T.admittedShards }, (_, shard) => this.shard(shard)));
  }

  private async *shard(shard: number): AsyncGenerator<AdmittedImage[]> {
    const pages = retriedPages((start) =>
      this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          IndexName: T.admittedIndex,
          KeyConditionExpression: '#shard = :shard',
          ExpressionAttributeNames: { '#shard': T.admittedPartitionKey },
          ExpressionAttributeValues: { ':shard': shard },
          Limit: this.options.pageSize ?? 1000,
          ...(start && { ExclusiveStartKey: start }),
        }),
      ),
    );
    for await (const page of pages) {
      yield (page.Items ?? []).map((item) => ({
        registry: String(item.registry),
        repository: String(item.repository),
        digest: String(item.digest),
        verdict: item.verdict as AdmittedImage['verdict'],
        tags: Array.isArray(item.tags) ? (item.tags as string[]) : [],
        ...(typeof item.expiresAt === 'string' && { expiresAt: item.expiresAt }),
      }));
    }
  }
}
