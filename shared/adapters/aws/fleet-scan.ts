import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Scanner } from '../../domain/findings';
import type { FactsRef, FindingsFacts } from '../../domain/findings-facts';
import { FLEET_RECORD_ATTRIBUTES, type FleetRecord } from '../../domain/fleet-record';
import type { ImageKey } from '../../domain/image-ref';
import { mergeAsync } from '../../merge-async';
import type { FleetItem, FleetScan } from '../../ports/questions';
import type { RetryOptions } from '../../retry';
import { DynamoDbFindingsFacts, FACTS_SORT_PREFIX } from './dynamodb-findings-facts';
import { documentClient } from './dynamodb-verdict-store';
import { retriedPages } from './retried-pages';
import { DynamoDbVerdictCatalog } from './verdict-catalog';
import { recordOfItem } from './verdict-item';
import { VERDICT_TABLE as T } from './verdict-table';

export interface DynamoDbFleetScanOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
  /** Parallel Scan segments; `auto`: one per 64 MB of table (DescribeTable), at least 4, at most 8. */
  segments?: number | 'auto';
  retry?: RetryOptions;
}

/** Even a small table is read in a few segments: the pages of one are decoded while the others load. */
const MIN_AUTO_SEGMENTS = 4;

/** What a facts head holds (DynamoDbFindingsFacts' item), besides the keys. */
const FACTS_ATTRIBUTES = [
  'registry',
  'repository',
  'digest',
  'scanner',
  'completedAt',
  'status',
  'description',
  'vulnerabilitySourceUpdatedAt',
  'enc',
  'hash',
  'count',
  'parts',
  'f',
];

const ATTRIBUTES = [
  ...new Set([T.partitionKey, T.sortKey, ...FLEET_RECORD_ATTRIBUTES, ...FACTS_ATTRIBUTES]),
];

/**
 * The fleet in one parallel Scan of the verdict table: CURRENT items and facts heads (facts
 * parts and history are filtered out), only the attributes the questions read. A partition
 * sits in one segment, in sort-key order, so a digest's facts arrive right after its verdict
 * (`CURRENT` < `F#…`); facts are decoded only when the caller asks.
 */
export class DynamoDbFleetScan implements FleetScan {
  private readonly client: DynamoDBDocumentClient;
  private readonly store: DynamoDbFindingsFacts;

  constructor(private readonly options: DynamoDbFleetScanOptions) {
    this.client = options.client ?? documentClient();
    this.store = new DynamoDbFindingsFacts({
      tableName: options.tableName,
      client: this.client,
      ...(options.retry && { retry: options.retry }),
    });
  }

  async *pages(): AsyncIterable<FleetItem[]> {
    const segments = await this.segmentCount();
    yield* mergeAsync(Array.from({ length: segments }, (_, s) => this.segment(s, segments)));
  }

  facts(
    key: ImageKey,
    ref: Pick<FactsRef, 'scanner' | 'completedAt'>,
  ): Promise<FindingsFacts | undefined> {
    return this.store.get(key, ref);
  }

  private async segmentCount(): Promise<number> {
    const wanted = this.options.segments ?? 'auto';
    if (wanted !== 'auto') return Math.max(1, Math.floor(wanted));
    const bySize = await new DynamoDbVerdictCatalog({
      tableName: this.options.tableName,
      client: this.client,
      ...(this.options.retry && { retry: this.options.retry }),
    }).segmentCount();
    return Math.max(MIN_AUTO_SEGMENTS, bySize);
  }

  private async *segment(segment: number, segments: number): AsyncIterable<FleetItem[]> {
    const names = Object.fromEntries(ATTRIBUTES.map((a, i) => [`#a${i}`, a]));
    const sk = `#a${ATTRIBUTES.indexOf(T.sortKey)}`;
    const enc = `#a${ATTRIBUTES.indexOf('enc')}`;
    const pages = retriedPages(
      (start) =>
        this.client.send(
          new ScanCommand({
            TableName: this.options.tableName,
            FilterExpression: `${sk} = :current OR (begins_with(${sk}, :facts) AND attribute_exists(${enc}))`,
            ProjectionExpression: Object.keys(names).join(', '),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: {
              ':current': T.currentSortKey,
              ':facts': FACTS_SORT_PREFIX,
            },
            ...(segments > 1 && { Segment: segment, TotalSegments: segments }),
            ...(start && { ExclusiveStartKey: start }),
          }),
        ),
      this.options.retry,
    );
    for await (const page of pages) yield (page.Items ?? []).map((item) => this.itemOf(item));
  }

  private itemOf(item: Record<string, unknown>): FleetItem {
    if (item[T.sortKey] === T.currentSortKey) {
      return { kind: 'verdict', record: recordOfItem(item) as FleetRecord };
    }
    return {
      kind: 'facts',
      key: {
        registry: String(item.registry),
        repository: String(item.repository),
        digest: String(item.digest),
      },
      scanner: item.scanner as Scanner,
      completedAt: String(item.completedAt),
      load: () => this.store.fromItem(item),
    };
  }
}
