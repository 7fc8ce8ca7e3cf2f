import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { VerdictRecord } from '../../domain/verdict-record';
import { mergeAsync } from '../../merge-async';
import type { VerdictCatalog } from '../../ports';
import { type RetryOptions, withRetry } from '../../retry';
import { documentClient } from './dynamodb-verdict-store';
import { retriedPages } from './retried-pages';
import { recordOfItem } from './verdict-item';
import { VERDICT_TABLE as T } from './verdict-table';

export interface DynamoDbVerdictCatalogOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
  /** Parallel Scan segments; `auto` picks one per 64 MB of table, at most 8 (DescribeTable). */
  segments?: number | 'auto';
  retry?: RetryOptions;
}

const BYTES_PER_SEGMENT = 64 * 1024 * 1024;
const MAX_AUTO_SEGMENTS = 8;

/**
 * Every CURRENT verdict of the table, by a paginated Scan filtered on `sk = CURRENT`
 * (history items and markers are read but not returned). The segments are scanned all at
 * once and their pages yielded as they come: a large table is enumerated in the time of its
 * largest segment, and memory stays at a page per segment.
 */
export class DynamoDbVerdictCatalog implements VerdictCatalog {
  private readonly client: DynamoDBDocumentClient;

  constructor(private readonly options: DynamoDbVerdictCatalogOptions) {
    this.client = options.client ?? documentClient();
  }

  async *pages(): AsyncIterable<VerdictRecord[]> {
    const segments = await this.segmentCount();
    yield* mergeAsync(
      Array.from({ length: segments }, (_, segment) => this.segment(segment, segments)),
    );
  }

  async segmentCount(): Promise<number> {
    const wanted = this.options.segments ?? 'auto';
    if (wanted !== 'auto') return Math.max(1, Math.floor(wanted));
    const out = await withRetry(
      () => this.client.send(new DescribeTableCommand({ TableName: this.options.tableName })),
      this.options.retry,
    );
    const bytes = out.Table?.TableSizeBytes ?? 0;
    return Math.min(MAX_AUTO_SEGMENTS, Math.max(1, Math.ceil(bytes / BYTES_PER_SEGMENT)));
  }

  private async *segment(segment: number, segments: number): AsyncIterable<VerdictRecord[]> {
    const pages = retriedPages((start) =>
      this.client.send(
        new ScanCommand({
          TableName: this.options.tableName,
          FilterExpression: '#sk = :current',
          ExpressionAttributeNames: { '#sk': T.sortKey },
          ExpressionAttributeValues: { ':current': T.currentSortKey },
          ...(segments > 1 && { Segment: segment, TotalSegments: segments }),
          ...(start && { ExclusiveStartKey: start }),
        }),
      ),
    );
    for await (const page of pages) yield (page.Items ?? []).map(recordOfItem);
  }
}
