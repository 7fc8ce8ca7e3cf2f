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
 * configures it (batch size 100, `maxBatchingWindow`, parallelization 1, partial batch
 * responses): a record is seen at the next poll after its write; the window opens at the
 * first record seen and the function is invoked when it closes or the batch is full; the
 * next batch waits for the invocation to return; a failed record is retried with the rest.
 */
export class StreamShard {
  private readonly pending: DynamoDBRecord[] = [];
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  invocations = 0;

  constructor(private readonly windowMs: number) {}

  push(record: DynamoDBRecord): void {
    this.pending.push(record);
  }

  start(handler: (event: unknown) => Promise<DynamoDBBatchResponse>): void {
    this.running = true;
    const loop = async () => {
      while (this.running) {
        await sleep(STREAM_POLL_MS);
        if (this.pending.length === 0) continue;
        const opened = Date.now();
        while (this.pending.length < BATCH_SIZE && Date.now() - opened < this.windowMs) {
          await sleep(Math.min(STREAM_POLL_MS, this.windowMs - (Date.now() - opened)));
        }
        const batch = this.pending.splice(0, BATCH_SIZE);
        this.invocations += 1;
        let failed: string | undefined;
        try {
          failed = (await handler(streamEvent(batch))).batchItemFailures[0]?.itemIdentifier;
        } catch {
          failed = batch[0]?.dynamodb?.SequenceNumber;
        }
        const from = batch.findIndex((r) => r.dynamodb?.SequenceNumber === failed);
        if (from >= 0) this.pending.unshift(...batch.slice(from));
      }
    };
    this.loop = loop();
  }

  /** Resolves once the invocation in flight returned. */
  stop(): Promise<void> {
    this.running = false;
    return this.loop;
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
