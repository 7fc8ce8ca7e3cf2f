import type { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SqsRebuildTrigger } from '../../shared/adapters/aws/allowlist-trigger';
import { type Announcement, announcementId } from '../../shared/domain/announcement';
import type { ClaimResult, IdempotencyStore, RebuildTrigger } from '../../shared/ports/publishing';
import { announceChanges, type StreamChange } from '../../shared/services/announce-changes';
import { digestOf, REGISTRY } from '../support/builders';

const clock = () => new Date('2026-11-23T02:00:00.000Z');

function current(n: number, verdict: string, transitionId: string, admitted?: number) {
  return {
    pk: `IMG#${REGISTRY}/prod/api@${digestOf(n)}`,
    sk: 'CURRENT',
    registry: REGISTRY,
    repository: 'prod/api',
    digest: digestOf(n),
    tags: [],
    verdict,
    version: 1,
    transitionId,
    transitionAt: clock().toISOString(),
    evaluatedAt: clock().toISOString(),
    ...(admitted !== undefined && { admitted }),
  };
}

/** In-memory markers with the same claim/complete/release contract as DeliveryMarkers. */
class MemoryMarkers implements IdempotencyStore {
  readonly state = new Map<string, 'IN_PROGRESS' | 'COMPLETED'>();
  async claim(key: string): Promise<ClaimResult> {
    const s = this.state.get(key);
    if (s === 'COMPLETED') return 'done';
    if (s === 'IN_PROGRESS') return 'busy';
    this.state.set(key, 'IN_PROGRESS');
    return 'claimed';
  }
  async complete(key: string) {
    this.state.set(key, 'COMPLETED');
  }
  async release(key: string) {
    this.state.delete(key);
  }
}

function setup(failPublishOn: string[] = []) {
  const published: { id: string; announcement: Announcement }[] = [];
  const rebuilds: string[] = [];
  const markers = new MemoryMarkers();
  const options = {
    publisher: {
      async publish(announcement: Announcement) {
        const id = announcementId(announcement);
        if (failPublishOn.includes(id)) {
          failPublishOn.splice(failPublishOn.indexOf(id), 1);
          throw new Error('SNS down');
        }
        published.push({ id, announcement });
      },
    },
    markers,
    trigger: {
      async requestRebuild(_now: Date, reason: string) {
        rebuilds.push(reason);
      },
    } as RebuildTrigger,
    clock,
  };
  return { published, rebuilds, markers, options };
}

const batch: StreamChange[] = [
  { id: '101', newItem: current(1, 'PASS', 't1', 2) },
  { id: '102', oldItem: current(2, 'PASS', 't0', 5), newItem: current(2, 'FAIL', 't2') },
  { id: '103', newItem: { pk: 'IMG#x', sk: 'H#2026-11-23', transitionId: 't2' } },
  { id: '104', oldItem: current(3, 'FAIL', 't3'), newItem: current(3, 'PASS', 't4', 1) },
];

describe('announceChanges', () => {
  it('names the records that moved the admitted set in its rebuild request', async () => {
    const { options } = setup();
    const asked: (readonly string[] | undefined)[] = [];
    options.trigger = {
      async requestRebuild(_now: Date, _reason: string, dirty?: readonly string[]) {
        asked.push(dirty);
      },
    };
    await announceChanges(batch, options);
    // 101 (new PASS), 102 (PASS → FAIL), 104 (FAIL → PASS); not the history item 103.
    expect(asked).toEqual([[1, 2, 3].map((n) => `IMG#${REGISTRY}/prod/api@${digestOf(n)}`)]);
  });

  it('publishes one event per transition and asks for one rebuild per batch', async () => {
    const { published, rebuilds, options } = setup();
    const outcome = await announceChanges(batch, options);
    expect(published.map((m) => m.id)).toEqual(['t1', 't2', 't4']);
    expect(rebuilds).toEqual(['stream record 101']);
    expect(outcome).toEqual({ published: 3, duplicates: 0, rebuildRequested: true, parked: 0 });
  });

  it('asks for the rebuild before announcing: the gate does not wait for SNS', async () => {
    const { published, options } = setup();
    const announcedBefore: number[] = [];
    options.trigger = {
      async requestRebuild() {
        announcedBefore.push(published.length);
      },
    };
    await announceChanges(batch, options);
    expect(announcedBefore).toEqual([0]);
    expect(published).toHaveLength(3);
  });

  it('asks for a rebuild after the loop for a parked record when nothing looked dirty', async () => {
    const { options, rebuilds } = setup();
    const parked: string[] = [];
    const outcome = await announceChanges(
      [
        { id: '201', oldItem: current(2, 'FAIL', 't5'), newItem: current(2, 'FAIL', 't5') },
        { id: '202', newItem: { ...current(1, 'PASS', 't6'), verdict: 'BROKEN' } },
      ],
      {
        ...options,
        parking: {
          async park(record) {
            parked.push(record.id);
          },
        },
      },
    );
    expect(parked).toEqual(['202']);
    expect(rebuilds).toEqual(['stream record 202']);
    expect(outcome).toMatchObject({ rebuildRequested: true, parked: 1 });
  });

  it('publishes nothing twice when the same batch is delivered again', async () => {
    const { published, options } = setup();
    await announceChanges(batch, options);
    const again = await announceChanges(batch, options);
    expect(published).toHaveLength(3);
    expect(again).toMatchObject({ published: 0, duplicates: 3 });
  });

  it('stops at the first failed record, which the retry starts from', async () => {
    const { published, markers, options } = setup(['t2']);
    const first = await announceChanges(batch, options);
    expect(first.failedId).toBe('102');
    expect(published.map((m) => m.id)).toEqual(['t1']);
    expect(markers.state.has('t2')).toBe(false);
    const retry = await announceChanges(batch.slice(1), options);
    expect(retry.failedId).toBeUndefined();
    expect(published.map((m) => m.id)).toEqual(['t1', 't2', 't4']);
  });

  it('retries from the first dirty record when the rebuild request fails', async () => {
    const { options } = setup();
    options.trigger = {
      async requestRebuild() {
        throw new Error('SQS down');
      },
    };
    const outcome = await announceChanges(batch.slice(1), options);
    expect(outcome.failedId).toBe('102');
    expect(outcome.published).toBe(2);
  });

  it('fails a record whose transition another delivery still holds', async () => {
    const { options, markers } = setup();
    markers.state.set('t1', 'IN_PROGRESS');
    const outcome = await announceChanges(batch, options);
    expect(outcome.failedId).toBe('101');
    expect(outcome.published).toBe(0);
  });

  it('fails a malformed CURRENT item instead of skipping it', async () => {
    const { options } = setup();
    const outcome = await announceChanges(
      [{ id: '900', newItem: { ...current(1, 'PASS', 't1'), verdict: 'BROKEN' } }],
      options,
    );
    expect(outcome.failedId).toBe('900');
  });
});

/**
 * SQS FIFO as documented: a message whose deduplication id was accepted in the last
 * 5 minutes is dropped; the queue's delivery delay holds each message; one message group
 * is consumed one batch at a time.
 */
class FifoQueue {
  readonly accepted: { body: string; visibleAt: number }[] = [];
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly now: () => number,
    private readonly delayMs: number,
  ) {}
  async send(command: SendMessageCommand) {
    const { MessageDeduplicationId: id, MessageBody: body, MessageGroupId } = command.input;
    expect(MessageGroupId).toBe('allowlist');
    const last = this.seen.get(id ?? '');
    if (last !== undefined && this.now() - last < 5 * 60_000) return {};
    this.seen.set(id ?? '', this.now());
    this.accepted.push({ body: body ?? '', visibleAt: this.now() + this.delayMs });
    return {};
  }
}

describe('debounced rebuilds', () => {
  async function burst(delayMs: number, honourNotBefore: boolean) {
    let now = Date.parse('2026-11-23T02:00:07.000Z');
    const windowMs = 30_000;
    const queue = new FifoQueue(() => now, delayMs);
    const trigger = new SqsRebuildTrigger(
      'https://sqs.eu-west-1.amazonaws.com/123456789012/allowlist-rebuild.fifo',
      windowMs,
      queue as unknown as SQSClient,
    );
    // Worst case: every transition arrives in its own stream batch, 120 ms apart.
    const writes: number[] = [];
    for (let i = 0; i < 500; i++) {
      now += 120;
      writes.push(now);
      await trigger.requestRebuild(new Date(now), `transition ${i}`);
    }
    // One consumer (reserved concurrency 1): each delivered batch is one build of 2 s.
    const reads: number[] = [];
    let free = 0;
    for (const message of queue.accepted) {
      const { notBefore } = JSON.parse(message.body) as { notBefore: string };
      const start = Math.max(message.visibleAt, free, honourNotBefore ? Date.parse(notBefore) : 0);
      reads.push(start);
      free = start + 2_000;
    }
    const missed = writes.filter((written) => !reads.some((read) => read >= written));
    return { reads, missed };
  }

  it('turns a burst of 500 transitions into a handful of rebuilds that miss nothing', async () => {
    const { reads, missed } = await burst(30_000, true);
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(reads.length).toBeLessThanOrEqual(4);
    // Every transition was written before some rebuild read the index.
    expect(missed).toEqual([]);
  });

  it('would lose the tail of the burst without the delivery delay (why the queue has one)', async () => {
    const { missed } = await burst(0, false);
    expect(missed.length).toBeGreaterThan(0);
  });
});
