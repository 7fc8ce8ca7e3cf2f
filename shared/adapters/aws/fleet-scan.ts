import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Scanner } from '../../domain/findings';
import type { FactsRef, FindingsFacts } from '../../domain/findings-facts';
import { FLEET_RECORD_ATTRIBUTES, type FleetRecord } from '../../domain/fleet-record';
import type { ImageKey } from '../../domain/image-ref';
import { mergeAsync } from '../../merge-async';
import type { FleetItem, FleetScan } from '../../ports/questions';
import { type RetryOptions, withRetry } from '../../retry';
import { batchGetItems } from './batch-get';
import { DynamoDbFindingsFacts, FACTS_SORT_PREFIX, scanOfSortKey } from './dynamodb-findings-facts';
import { documentClient } from './dynamodb-verdict-store';
import { fleetRecordOf } from './fleet-item';
import { retriedPages } from './retried-pages';
import { recordOfItem } from './verdict-item';
import { VERDICT_TABLE as T } from './verdict-table';

export interface DynamoDbFleetScanOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
  /** Parallel Scan segments; `auto`: one per 64 MB read (DescribeTable), at least 4, at most 8. */
  segments?: number | 'auto';
  /** `table`: Scan the table even when it has the fleet index (tests of the fallback). */
  source?: 'auto' | 'table';
  retry?: RetryOptions;
}

/** Even a small table is read in a few segments: the pages of one are decoded while the others load. */
const MIN_AUTO_SEGMENTS = 4;
const MAX_AUTO_SEGMENTS = 8;
const BYTES_PER_SEGMENT = 64 * 1024 * 1024;

/** What one read of the fleet reads: the fleet index when the table has it, else the table. */
interface Plan {
  index: boolean;
  segments: number;
}

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
 * A facts head as the index projects it (keys, findings, status), completed from its keys:
 * the manifest from `pk`, the scan from `sk`. Undefined for an entry that is neither.
 */
function headOfIndexEntry(item: Record<string, unknown>): Record<string, unknown> | undefined {
  const pk = String(item[T.partitionKey]);
  const scan = scanOfSortKey(String(item[T.sortKey]));
  if (!scan || !pk.startsWith(T.imagePrefix)) return undefined;
  // imageId(): `<registry>/<repository>@<digest>`; a host has no '/', a repository no '@'.
  const id = pk.slice(T.imagePrefix.length);
  const [slash, at] = [id.indexOf('/'), id.lastIndexOf('@')];
  if (slash <= 0 || at <= slash) return undefined;
  const key = {
    registry: id.slice(0, slash),
    repository: id.slice(slash + 1, at),
    digest: id.slice(at + 1),
  };
  return { ...item, ...key, ...scan };
}

/**
 * The fleet in one parallel Scan of the sparse fleet index: current verdicts as their
 * compact record `q`, and facts heads (no history, no parts, no other attribute). A digest's
 * entries share its shard and sort key, so its facts arrive next to its verdict, before or
 * after. Without the index (a table created before it) the table is scanned, filtered to
 * CURRENT items and facts heads, projected to the attributes the questions read. Facts are
 * decoded only when the caller asks.
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
    const { index, segments } = await this.plan();
    yield* mergeAsync(
      Array.from({ length: segments }, (_, s) =>
        index ? this.indexSegment(s, segments) : this.tableSegment(s, segments),
      ),
    );
  }

  facts(
    key: ImageKey,
    ref: Pick<FactsRef, 'scanner' | 'completedAt'>,
  ): Promise<FindingsFacts | undefined> {
    return this.store.get(key, ref);
  }

  /**
   * The fleet index when it is ACTIVE (a table created before it, or still backfilling it,
   * is read whole); segments by the bytes the read covers.
   */
  private async plan(): Promise<Plan> {
    const out = await withRetry(
      () => this.client.send(new DescribeTableCommand({ TableName: this.options.tableName })),
      this.options.retry,
    );
    const gsi = (out.Table?.GlobalSecondaryIndexes ?? []).find(
      (g) => g.IndexName === T.fleetIndex && g.IndexStatus === 'ACTIVE' && !g.Backfilling,
    );
    const index = gsi !== undefined && this.options.source !== 'table';
    const wanted = this.options.segments ?? 'auto';
    if (wanted !== 'auto') return { index, segments: Math.max(1, Math.floor(wanted)) };
    const bytes = (index ? gsi?.IndexSizeBytes : out.Table?.TableSizeBytes) ?? 0;
    const bySize = Math.min(MAX_AUTO_SEGMENTS, Math.ceil(bytes / BYTES_PER_SEGMENT));
    return { index, segments: Math.max(MIN_AUTO_SEGMENTS, bySize) };
  }

  /** The index holds exactly what the questions read: no filter, no projection. */
  private async *indexSegment(segment: number, segments: number): AsyncIterable<FleetItem[]> {
    const pages = retriedPages(
      (start) =>
        this.client.send(
          new ScanCommand({
            TableName: this.options.tableName,
            IndexName: T.fleetIndex,
            ...(segments > 1 && { Segment: segment, TotalSegments: segments }),
            ...(start && { ExclusiveStartKey: start }),
          }),
        ),
      this.options.retry,
    );
    for await (const page of pages) yield await this.indexItems(page.Items ?? []);
  }

  /** Verdicts from their `q`; one whose `q` was too large (or is of a later version) is read whole. */
  private async indexItems(items: Record<string, unknown>[]): Promise<FleetItem[]> {
    const out: FleetItem[] = [];
    const whole: Record<string, unknown>[] = [];
    for (const item of items) {
      if (item[T.sortKey] !== T.currentSortKey) {
        const head = headOfIndexEntry(item);
        if (head) out.push(this.itemOf(head));
        continue;
      }
      const record = item.q instanceof Uint8Array ? fleetRecordOf(item.q) : undefined;
      if (record) out.push({ kind: 'verdict', record });
      else whole.push(item);
    }
    if (whole.length > 0) {
      const read = await batchGetItems(
        this.client,
        this.options.tableName,
        whole.map((item) => ({ pk: String(item[T.partitionKey]), sk: T.currentSortKey })),
        { ...(this.options.retry && { retry: this.options.retry }) },
      );
      for (const item of read) out.push(this.itemOf(item));
    }
    return out;
  }

  private async *tableSegment(segment: number, segments: number): AsyncIterable<FleetItem[]> {
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
      load: (keep) => this.store.fromItem(item, keep),
    };
  }
}
