import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { DAY_MS } from '../../domain/duration';
import { StoreConflictError } from '../../domain/errors';
import { type ImageKey, imageId } from '../../domain/image-ref';
import { isAdmitted } from '../../domain/verdict';
import type { VerdictRecord, WritePlan } from '../../domain/verdict-record';
import type { VerdictStore } from '../../ports';
import { withRetry } from '../../retry';
import { batchGetItems } from './batch-get';
import { sharedClient } from './clients';
import { fleetRecordBytes } from './fleet-item';
import { MARSHALL_OPTIONS, recordItem, recordOfItem } from './verdict-item';
import { admittedShard, fleetShard, imagePartitionKey, VERDICT_TABLE as T } from './verdict-table';
import { isConditionFailure, versionCondition } from './version-lock';

export interface DynamoDbVerdictStoreOptions {
  tableName: string;
  client?: DynamoDBDocumentClient;
  /** How long transition history items live. */
  historyDays?: number;
}

export function documentClient(client?: DynamoDBClient): DynamoDBDocumentClient {
  if (client === undefined) {
    sharedDocuments ??= documentClient(sharedClient(DynamoDBClient));
    return sharedDocuments;
  }
  return DynamoDBDocumentClient.from(client, { marshallOptions: { ...MARSHALL_OPTIONS } });
}

/** What every DynamoDB adapter built without a client shares, one per container. */
let sharedDocuments: DynamoDBDocumentClient | undefined;

/** On CURRENT while its transition's history item is not yet written. */
const HISTORY_PENDING = 'historyPending';

type Item = VerdictRecord & {
  pk: string;
  sk: string;
  admitted?: number;
  refused?: number;
  fleet?: number;
  q?: Uint8Array;
  historyPending?: true;
};

/**
 * The attributes that put a current (not deleted) CURRENT item in the fleet index: its
 * shard and the compact record the questions read (`q`, left out when too large).
 */
function fleetAttributes(pk: string, record: VerdictRecord): { fleet?: number; q?: Uint8Array } {
  if (record.deletedAt) return {};
  const q = fleetRecordBytes(record);
  return { fleet: fleetShard(pk), ...(q && { q }) };
}

/** A CURRENT item as evaluate writes it (benchmarks fill tables with these too). */
export function currentItem(
  pk: string,
  record: VerdictRecord,
  historyPending = false,
): Record<string, unknown> {
  const admitted = isAdmitted(record.verdict) && !record.deletedAt;
  return {
    ...recordItem(record),
    pk,
    sk: T.currentSortKey,
    ...(admitted && { admitted: admittedShard(pk) }),
    // The index's sort key is transitionAt: a record without one is left out of it.
    ...(!admitted && record.transitionAt && { refused: admittedShard(pk) }),
    ...fleetAttributes(pk, record),
    ...(historyPending && { [HISTORY_PENDING]: true }),
  };
}

/** Verdict store on one DynamoDB table, written with optimistic locking on `version`. */
export class DynamoDbVerdictStore implements VerdictStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly historyMs: number;
  /** CURRENT items read with their history item still missing: a quiet touch repairs them. */
  private readonly pendingHistory = new Set<string>();
  /** CURRENT items read without the fleet index's attributes (written before it): a touch adds them. */
  private readonly unindexed = new Set<string>();

  constructor(private readonly options: DynamoDbVerdictStoreOptions) {
    this.client = options.client ?? documentClient();
    this.historyMs = (options.historyDays ?? 400) * DAY_MS;
  }

  async get(key: ImageKey): Promise<VerdictRecord | undefined> {
    const out = await withRetry(() =>
      this.client.send(
        new GetCommand({
          TableName: this.options.tableName,
          Key: { [T.partitionKey]: imagePartitionKey(key), [T.sortKey]: T.currentSortKey },
          ConsistentRead: true,
        }),
      ),
    );
    return this.recordOf(out.Item);
  }

  /** One BatchGetItem per 100 images (consistent reads, as `get`). */
  async getMany(keys: ImageKey[]): Promise<Map<string, VerdictRecord>> {
    const items = await batchGetItems(
      this.client,
      this.options.tableName,
      keys.map((key) => ({ pk: imagePartitionKey(key), sk: T.currentSortKey })),
      { consistentRead: true },
    );
    const records = new Map<string, VerdictRecord>();
    for (const item of items) {
      const record = this.recordOf(item);
      if (record) records.set(imageId(record), record);
    }
    return records;
  }

  private recordOf(item: Record<string, unknown> | undefined): VerdictRecord | undefined {
    if (!item) return undefined;
    const pk = String(item[T.partitionKey]);
    if (item[HISTORY_PENDING] === true) this.pendingHistory.add(pk);
    else this.pendingHistory.delete(pk);
    if (item.deletedAt === undefined && item[T.fleetPartitionKey] === undefined)
      this.unindexed.add(pk);
    else this.unindexed.delete(pk);
    return recordOfItem(item);
  }

  /**
   * CURRENT is the source of truth and is written first, under the version lock. A
   * transition's CURRENT carries `historyPending` until its history item (key derived from
   * the record, so a retried put lands on the same item) is written. Should that put fail,
   * the retry finds CURRENT up to date: its touch or update returns the stored item, sees the
   * flag and writes the history item from it. (Not a transaction: that doubles write cost,
   * and dynalite has none.)
   */
  async write(plan: WritePlan): Promise<void> {
    const { record, expectedVersion } = plan;
    const pk = imagePartitionKey(record);
    const condition = versionCondition(expectedVersion);
    // Stored transitions whose history item may be missing: the one written, the one replaced.
    const pending: (Item | undefined)[] = [];
    // Nothing to record but the time: left out, unless the touch is what repairs the history
    // or puts an item written before the fleet index into it.
    const index = this.unindexed.has(pk) ? fleetAttributes(pk, record) : {};
    const repairs = this.pendingHistory.has(pk) || index.fleet !== undefined;
    if (plan.kind === 'touch' && plan.quiet && !repairs) return;
    this.pendingHistory.delete(pk);
    this.unindexed.delete(pk);
    try {
      if (plan.kind === 'touch') {
        // A touch changes nothing `q` holds (evaluatedAt is not in it).
        const set = Object.keys(index).map((name) => `, ${name} = :${name}`);
        const out = await withRetry(() =>
          this.client.send(
            new UpdateCommand({
              TableName: this.options.tableName,
              Key: { pk, sk: T.currentSortKey },
              UpdateExpression: `SET evaluatedAt = :at${set.join('')}`,
              ...condition,
              ExpressionAttributeValues: {
                ...condition.ExpressionAttributeValues,
                ':at': record.evaluatedAt,
                ...Object.fromEntries(Object.entries(index).map(([k, v]) => [`:${k}`, v])),
              },
              ReturnValues: 'ALL_NEW',
            }),
          ),
        );
        pending.push(out.Attributes as Item | undefined);
      } else if (plan.kind !== 'none') {
        const out = await withRetry(() =>
          this.client.send(
            new PutCommand({
              TableName: this.options.tableName,
              Item: this.item(pk, record, plan.kind === 'transition'),
              ...condition,
              // The item replaced: an update must not erase a pending history item.
              ReturnValues: 'ALL_OLD',
            }),
          ),
        );
        pending.push(out.Attributes as Item | undefined);
        if (plan.kind === 'transition') pending.push(this.item(pk, record, true));
      }
    } catch (error) {
      if (isConditionFailure(error)) {
        throw new StoreConflictError(
          `verdict of ${imageId(record)} is no longer at version ${expectedVersion}`,
          { cause: error },
        );
      }
      throw error;
    }
    for (const item of pending) {
      if (item?.historyPending === true) await this.writeHistory(pk, item);
    }
  }

  /** The history item of the stored transition, then the flag off (if still that version). */
  private async writeHistory(pk: string, stored: Item): Promise<void> {
    await withRetry(() =>
      this.client.send(
        new PutCommand({ TableName: this.options.tableName, Item: this.historyItem(pk, stored) }),
      ),
    );
    try {
      await withRetry(() =>
        this.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: { pk, sk: T.currentSortKey },
            UpdateExpression: `REMOVE ${HISTORY_PENDING}`,
            ConditionExpression: 'version = :v',
            ExpressionAttributeValues: { ':v': stored.version },
          }),
        ),
      );
    } catch (error) {
      // A newer write replaced the item (and carried no flag, or its own): nothing to clear.
      if (!isConditionFailure(error)) throw error;
    }
  }

  private item(pk: string, record: VerdictRecord, historyPending: boolean): Item {
    return currentItem(pk, record, historyPending) as unknown as Item;
  }

  private historyItem(pk: string, record: VerdictRecord): Record<string, unknown> {
    const at = record.transitionAt ?? record.evaluatedAt;
    return {
      pk,
      // The version suffix keeps two transitions in the same millisecond apart.
      sk: `${T.historyPrefix}${at}#${String(record.version).padStart(8, '0')}`,
      transitionId: record.transitionId,
      verdict: record.verdict,
      previousVerdict: record.previousVerdict,
      deletedAt: record.deletedAt,
      reasons: record.reasons,
      severityCounts: record.severityCounts,
      policyHash: record.policyHash,
      version: record.version,
      [T.ttlAttribute]: Math.floor((Date.parse(at) + this.historyMs) / 1000),
    };
  }
}
