import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { VerdictRecord } from '../../domain/verdict-record';
import type { CurrentVerdicts } from '../../ports/publishing';
import { documentClient } from './dynamodb-verdict-store';
import { retriedPages } from './retried-pages';
import { recordOfItem } from './verdict-item';
import { VERDICT_TABLE as T } from './verdict-table';

export interface DynamoDbCurrentVerdictsOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
  /** Parallel scan segments (DynamoDB parallel Scan); 1 for small tables. */
  segments?: number;
  /** Read only this one of `segments` (a parallel reader per segment, as the rescan catalog does). */
  segment?: number;
}

/**
 * Every CURRENT verdict of the table, by a paginated Scan filtered on `sk = CURRENT`
 * (history items and markers are read but not returned). Segments are scanned in turn;
 * pages are yielded as they come, so memory stays at one page.
 */
export class DynamoDbCurrentVerdicts implements CurrentVerdicts {
  private readonly client: DynamoDBDocumentClient;

  constructor(private readonly options: DynamoDbCurrentVerdictsOptions) {
    this.client = options.client ?? documentClient();
  }

  async *pages(): AsyncIterable<VerdictRecord[]> {
    const segments = this.options.segments ?? 1;
    const only = this.options.segment;
    const last = only ?? segments - 1;
    for (let segment = only ?? 0; segment <= last; segment++) {
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
      for await (const page of pages) {
        yield (page.Items ?? []).map(recordOfItem);
      }
    }
  }
}
