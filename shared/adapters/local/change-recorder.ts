import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { WritePlan } from '../../domain/verdict-record';
import type { VerdictStore } from '../../ports';
import type { StreamChange } from '../../ports/publishing';
import { imagePartitionKey, VERDICT_TABLE } from '../aws/verdict-table';

/**
 * dynalite has no streams: this store records each write's CURRENT item before and after,
 * which is exactly what a NEW_AND_OLD_IMAGES stream record carries.
 */
export class ChangeRecorder implements VerdictStore {
  private readonly changes: StreamChange[] = [];

  constructor(
    private readonly store: VerdictStore,
    private readonly documents: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  get: VerdictStore['get'] = (key) => this.store.get(key);

  async write(plan: WritePlan): Promise<void> {
    const before = await this.item(plan);
    await this.store.write(plan);
    const after = await this.item(plan);
    this.changes.push({
      id: String(this.changes.length + 1),
      ...(before && { oldItem: before }),
      ...(after && { newItem: after }),
    });
  }

  /**
   * The recorded changes, grouped by image and in write order within each (as a stream
   * orders them per key), so a run prints the same messages in the same order each time;
   * the recorder starts empty again.
   */
  drain(): StreamChange[] {
    const image = (c: StreamChange) => String((c.newItem ?? c.oldItem)?.pk ?? '');
    return this.changes
      .splice(0)
      .sort((a, b) => (image(a) < image(b) ? -1 : image(a) > image(b) ? 1 : 0));
  }

  private async item(plan: WritePlan) {
    const out = await this.documents.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: imagePartitionKey(plan.record), sk: VERDICT_TABLE.currentSortKey },
        ConsistentRead: true,
      }),
    );
    return out.Item;
  }
}
