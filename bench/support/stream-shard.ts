import { createHash } from 'node:crypto';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { imagePartitionKey, VERDICT_TABLE } from '../../shared/adapters/aws/verdict-table';
import type { WritePlan } from '../../shared/domain/verdict-record';
import type { VerdictStore } from '../../shared/ports';
import type { LocalDynamo } from '../../test/support/dynalite';
import { rawItem, streamEvent, streamRecord } from '../../test/support/streams';
import { sleep } from './fifo-queue';

/** Lambda polls each shard of a DynamoDB stream four times a second. */
export const STREAM_POLL_MS = 250;
const BATCH_SIZE = 100;

/**
 * One shard of the table's stream and Lambda's event source mapping on it, as the stack
 * configures it (batch size 100, `maxBatchingWindow`, `parallelizationFactor`, partial batch
 * responses). Records are split by partition key over `parallelization` lanes (Lambda keeps
 * the order per item key across its concurrent batches); in each lane a record is seen at
 * the next poll after its write, the window opens at the first record seen, the function is
 * invoked when it closes or the batch is full, the next batch waits for that invocation to
 * return, and a failed record is retried with the rest of its batch.
 */
export class StreamShard {
  private readonly lanes: DynamoDBRecord[][];
  private running = false;
  private loops: Promise<void>[] = [];
  invocations = 0;

  constructor(
    private readonly windowMs: number,
    parallelization = 1,
  ) {
    this.lanes = Array.from({ length: parallelization }, () => []);
  }

  push(record: DynamoDBRecord): void {
    const key = JSON.stringify(record.dynamodb?.Keys ?? {});
    const lane = createHash('sha256').update(key).digest().readUInt32BE(0) % this.lanes.length;
    this.lanes[lane]?.push(record);
  }

  start(handler: (event: unknown) => Promise<DynamoDBBatchResponse>): void {
    this.running = true;
    this.loops = this.lanes.map((pending) => this.lane(pending, handler));
  }

  private async lane(
    pending: DynamoDBRecord[],
    handler: (event: unknown) => Promise<DynamoDBBatchResponse>,
  ): Promise<void> {
    while (this.running) {
      await sleep(STREAM_POLL_MS);
      if (pending.length === 0) continue;
      const opened = Date.now();
      while (pending.length < BATCH_SIZE && Date.now() - opened < this.windowMs) {
        await sleep(Math.min(STREAM_POLL_MS, this.windowMs - (Date.now() - opened)));
      }
      const batch = pending.splice(0, BATCH_SIZE);
      this.invocations += 1;
      let failed: string | undefined;
      try {
        failed = (await handler(streamEvent(batch))).batchItemFailures[0]?.itemIdentifier;
      } catch {
        failed = batch[0]?.dynamodb?.SequenceNumber;
      }
      const from = batch.findIndex((r) => r.dynamodb?.SequenceNumber === failed);
      if (from >= 0) pending.unshift(...batch.slice(from));
    }
  }

  /** Resolves once the invocations in flight returned. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/**
 * dynalite has no streams: this store reads the CURRENT item as DynamoDB stores it before
 * and after each write (what a NEW_AND_OLD_IMAGES record carries) and puts the record on the
 * shard. `onWritten` gets the moment the write returned: "verdict written".
 */
export class StreamingStore implements VerdictStore {
  constructor(
    private readonly store: VerdictStore,
    private readonly dynamo: LocalDynamo,
    private readonly table: string,
    private readonly shard: StreamShard,
    private readonly onWritten: (plan: WritePlan, at: number) => void,
  ) {}

  get: VerdictStore['get'] = (key) => this.store.get(key);

  async write(plan: WritePlan): Promise<void> {
    const pk = imagePartitionKey(plan.record);
    const before = await rawItem(this.dynamo, this.table, pk, VERDICT_TABLE.currentSortKey);
    await this.store.write(plan);
    this.onWritten(plan, Date.now());
    const after = await rawItem(this.dynamo, this.table, pk, VERDICT_TABLE.currentSortKey);
    this.shard.push(streamRecord(this.table, before, after));
  }
}
