import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { VerdictRecord } from '../../domain/verdict-record';
import { mergeAsync } from '../../merge-async';
import type { VerdictCatalog } from '../../ports/rescan';
import { type RetryOptions, withRetry } from '../../retry';
import { DynamoDbCurrentVerdicts } from './current-verdicts';
import { documentClient } from './dynamodb-verdict-store';

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
 * Every CURRENT verdict, read by one DynamoDbCurrentVerdicts reader per Scan segment, all
 * at once: a large table is enumerated in the time of its largest segment.
 */
export class DynamoDbVerdictCatalog implements VerdictCatalog {
  private readonly client: DynamoDBDocumentClient;

  constructor(private readonly options: DynamoDbVerdictCatalogOptions) {
    this.client = options.client ?? documentClient();
  }

  async *pages(): AsyncIterable<VerdictRecord[]> {
    const segments = await this.segmentCount();
    const { tableName } = this.options;
    yield* mergeAsync(
      Array.from({ length: segments }, (_, segment) =>
        new DynamoDbCurrentVerdicts({ tableName, client: this.client, segments, segment }).pages(),
      ),
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
}
