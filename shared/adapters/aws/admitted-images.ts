import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AdmittedImage } from '../../domain/allowlist';
import { UpstreamError } from '../../domain/errors';
import { mergeAsync } from '../../merge-async';
import type { AdmittedImages } from '../../ports/publishing';
import { sleep } from '../../retry';
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
 * in parallel, pages yielded as they arrive. The index is eventually consistent: the keys
 * to recheck (the rebuild requests' dirty records) are read from the table itself with a
 * consistent read, and what it says replaces what the index said about them.
 */
export class DynamoDbAdmittedImages implements AdmittedImages {
  private readonly client: DynamoDBDocumentClient;

  constructor(private readonly options: DynamoDbAdmittedImagesOptions) {
    this.client = options.client ?? documentClient();
  }

  pages(options: { recheck?: readonly string[] } = {}): AsyncIterable<AdmittedImage[]> {
    const recheck = new Set(options.recheck ?? []);
    const indexed = mergeAsync(
      Array.from({ length: T.admittedShards }, (_, shard) => this.shard(shard)),
    );
    if (recheck.size === 0) return mapPages(indexed, (page) => page.map(([, image]) => image));
    return this.rechecked(indexed, recheck);
  }

  private async *rechecked(
    indexed: AsyncIterable<[string, AdmittedImage][]>,
    recheck: Set<string>,
  ): AsyncGenerator<AdmittedImage[]> {
    // Read after the index, so the table's answer is at least as new as the index's.
    const pages: AdmittedImage[][] = [];
    for await (const page of indexed) {
      pages.push(page.filter(([pk]) => !recheck.has(pk)).map(([, image]) => image));
    }
    yield* pages;
    yield await this.consistent([...recheck]);
  }

  /** The admitted ones among `pks`, read from the table (strongly consistent), 100 a call. */
  private async consistent(pks: string[]): Promise<AdmittedImage[]> {
    const found: AdmittedImage[] = [];
    for (let i = 0; i < pks.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = pks
        .slice(i, i + 100)
        .map((pk) => ({ [T.partitionKey]: pk, [T.sortKey]: T.currentSortKey }));
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt > 0) await sleep(Math.min(1_000, 50 * 2 ** attempt));
        const out: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({
            RequestItems: { [this.options.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of out.Responses?.[this.options.tableName] ?? []) {
          // The index key is there exactly when the store judged the digest admitted.
          if (item[T.admittedPartitionKey] !== undefined) found.push(imageOf(item));
        }
        keys = out.UnprocessedKeys?.[this.options.tableName]?.Keys;
        if (attempt >= 8 && keys && keys.length > 0) {
          throw new UpstreamError(
            'UPSTREAM_FAILURE',
            `${keys.length} verdict items were not read back by key (unprocessed)`,
          );
        }
      }
    }
    return found;
  }

  private async *shard(shard: number): AsyncGenerator<[string, AdmittedImage][]> {
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
      yield (page.Items ?? []).map((item) => [String(item[T.partitionKey]), imageOf(item)]);
    }
  }
}

function imageOf(item: Record<string, unknown>): AdmittedImage {
  return {
    registry: String(item.registry),
    repository: String(item.repository),
    digest: String(item.digest),
    verdict: item.verdict as AdmittedImage['verdict'],
    tags: Array.isArray(item.tags) ? (item.tags as string[]) : [],
    ...(typeof item.expiresAt === 'string' && { expiresAt: item.expiresAt }),
  };
}

async function* mapPages<A, B>(pages: AsyncIterable<A>, f: (page: A) => B): AsyncGenerator<B> {
  for await (const page of pages) yield f(page);
}
