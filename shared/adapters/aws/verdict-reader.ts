import { type DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { ImageKey } from '../../domain/image-ref';
import {
  type HistoryEntry,
  parseHistoryEntry,
  parseStoredVerdict,
} from '../../domain/stored-verdict';
import type { VerdictRecord } from '../../domain/verdict-record';
import type { VerdictReader } from '../../ports/questions';
import { withRetry } from '../../retry';
import { documentClient } from './dynamodb-verdict-store';
import { recordOfItem } from './verdict-item';
import { imagePartitionKey, VERDICT_TABLE as T } from './verdict-table';

export interface DynamoDbVerdictReaderOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
}

type Item = Record<string, unknown>;

/** Reads one digest's items (one Query on its partition) and tag lookups (a filtered Scan). */
export class DynamoDbVerdictReader implements VerdictReader {
  private readonly client: DynamoDBDocumentClient;

  constructor(private readonly options: DynamoDbVerdictReaderOptions) {
    this.client = options.client ?? documentClient();
  }

  async current(key: ImageKey): Promise<VerdictRecord | undefined> {
    const item = (await this.partition(key, '#sk = :sk', T.currentSortKey))[0];
    return item && record(item);
  }

  async history(key: ImageKey): Promise<HistoryEntry[]> {
    return (await this.partition(key, 'begins_with(#sk, :sk)', T.historyPrefix)).map((i) => {
      const sk = String(i[T.sortKey]);
      // `H#<iso>#<version>`: the time is between the prefix and the last `#`.
      const at = sk.slice(T.historyPrefix.length, sk.lastIndexOf('#'));
      return parseHistoryEntry(i, at, `history item ${i[T.partitionKey]} ${sk}`);
    });
  }

  async tagged(registry: string, repository: string, tag: string): Promise<VerdictRecord[]> {
    const found: VerdictRecord[] = [];
    let start: Item | undefined;
    do {
      const out = await withRetry(() =>
        this.client.send(
          new ScanCommand({
            TableName: this.options.tableName,
            FilterExpression:
              '#sk = :current AND registry = :registry AND repository = :repository AND contains(tags, :tag)',
            ExpressionAttributeNames: { '#sk': T.sortKey },
            ExpressionAttributeValues: {
              ':current': T.currentSortKey,
              ':registry': registry,
              ':repository': repository,
              ':tag': tag,
            },
            ...(start && { ExclusiveStartKey: start }),
          }),
        ),
      );
      found.push(...(out.Items ?? []).map(record));
      start = out.LastEvaluatedKey;
    } while (start);
    return found;
  }

  /** Items of the digest's partition whose sort key matches (facts items are not read). */
  private async partition(key: ImageKey, sortKey: string, value: string): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await withRetry(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.options.tableName,
            KeyConditionExpression: `#pk = :pk AND ${sortKey}`,
            ExpressionAttributeNames: { '#pk': T.partitionKey, '#sk': T.sortKey },
            ExpressionAttributeValues: { ':pk': imagePartitionKey(key), ':sk': value },
            ConsistentRead: true,
            ...(start && { ExclusiveStartKey: start }),
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }
}

function record(item: Item): VerdictRecord {
  return parseStoredVerdict(recordOfItem(item), `verdict item ${item[T.partitionKey]}`);
}
