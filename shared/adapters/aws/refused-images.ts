import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { RefusedImage } from '../../domain/allowlist';
import type { RefusedImages } from '../../ports/publishing';
import { withRetry } from '../../retry';
import { documentClient } from './dynamodb-verdict-store';
import { VERDICT_TABLE as T } from './verdict-table';

export interface DynamoDbRefusedImagesOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
}

const CODES = new Set(['FAIL', 'PENDING', 'ERROR']);

/**
 * Reads the sparse `refused` index, newest transition first. The pk hash spreads digests
 * evenly over the shards, so each shard's newest `limit / shards` make about the newest
 * `limit` overall without reading the rest.
 */
export class DynamoDbRefusedImages implements RefusedImages {
  private readonly client: DynamoDBDocumentClient;

  constructor(private readonly options: DynamoDbRefusedImagesOptions) {
    this.client = options.client ?? documentClient();
  }

  async newest(limit: number): Promise<{ images: RefusedImage[]; complete: boolean }> {
    const share = Math.ceil(Math.max(1, limit) / T.admittedShards);
    const shards = await Promise.all(
      Array.from({ length: T.admittedShards }, (_, shard) => this.shard(shard, share)),
    );
    return {
      images: shards.flatMap((s) => s.images),
      complete: shards.every((s) => s.complete),
    };
  }

  private async shard(
    shard: number,
    share: number,
  ): Promise<{ images: RefusedImage[]; complete: boolean }> {
    const found: RefusedImage[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await withRetry(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.options.tableName,
            IndexName: T.refusedIndex,
            KeyConditionExpression: '#shard = :shard',
            ExpressionAttributeNames: { '#shard': T.refusedPartitionKey },
            ExpressionAttributeValues: { ':shard': shard },
            ScanIndexForward: false,
            Limit: share - found.length,
            ...(start && { ExclusiveStartKey: start }),
          }),
        ),
      );
      for (const item of out.Items ?? []) {
        const code = item.deletedAt ? 'DELETED' : String(item.verdict);
        // An item of another version with a verdict this one does not know: left out.
        if (code !== 'DELETED' && !CODES.has(code)) continue;
        found.push({
          registry: String(item.registry),
          repository: String(item.repository),
          digest: String(item.digest),
          code: code as RefusedImage['code'],
        });
      }
      start = out.LastEvaluatedKey;
    } while (start && found.length < share);
    // A full share with a page left: older refusals exist that were not read.
    return { images: found, complete: start === undefined };
  }
}
