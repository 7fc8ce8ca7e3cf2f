import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { imagePartitionKey, VERDICT_TABLE } from '../../shared/adapters/aws/verdict-table';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { StoreConflictError } from '../../shared/domain/errors';
import { evaluate } from '../../shared/domain/evaluate';
import {
  draftFrom,
  planWrite,
  previousEvaluation,
  type VerdictRecord,
} from '../../shared/domain/verdict-record';
import type { VerdictStore } from '../../shared/ports';
import { evaluateImage } from '../../shared/services/evaluate-image';
import { completeScan, finding, keyOf, policyOf } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

async function newStore(): Promise<{ store: DynamoDbVerdictStore; table: string }> {
  const table = await dynamo.newTable();
  return { store: new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents }), table };
}

const key = keyOf('prod/api');
const summary = { state: 'complete', status: 'COMPLETE', scanner: 'ecr-basic' } as const;
const draftAt = (at: string, severity: 'LOW' | 'HIGH' = 'LOW', previous?: VerdictRecord) =>
  draftFrom(
    { key, tags: ['v1'] },
    summary,
    evaluate({
      image: key,
      scan: completeScan([finding('CVE-1', severity)]),
      policy: policyOf(),
      now: new Date(at),
      previous: previousEvaluation(previous),
    }),
    undefined,
    previous,
  );

async function history(table: string): Promise<Record<string, unknown>[]> {
  const out = await dynamo.documents.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :h)',
      ExpressionAttributeValues: {
        ':pk': imagePartitionKey(key),
        ':h': VERDICT_TABLE.historyPrefix,
      },
    }),
  );
  return out.Items ?? [];
}

describe('DynamoDbVerdictStore on dynalite', () => {
  it('round-trips a record and writes the history item of a transition with a TTL', async () => {
    const { store, table } = await newStore();
    const plan = planWrite(undefined, draftAt('2026-11-23T00:00:00Z'));
    await store.write(plan);
    expect(await store.get(key)).toEqual(plan.record);
    const [item] = await history(table);
    expect(item).toMatchObject({
      verdict: 'PASS',
      transitionId: plan.record.transitionId,
      version: 1,
    });
    expect(item?.sk).toBe(`H#2026-11-23T00:00:00.000Z#00000001`);
    expect(item?.ttl).toBe(Math.floor(Date.parse('2026-11-23T00:00:00Z') / 1000) + 400 * 86_400);
  });

  it('puts admitted digests (and only those) in the sparse admitted index', async () => {
    const { store, table } = await newStore();
    const pass = planWrite(undefined, draftAt('2026-11-23T00:00:00Z'));
    await store.write(pass);
    const admitted = async () => {
      const items = [];
      for (let shard = 0; shard < VERDICT_TABLE.admittedShards; shard++) {
        const out = await dynamo.documents.send(
          new QueryCommand({
            TableName: table,
            IndexName: VERDICT_TABLE.admittedIndex,
            KeyConditionExpression: 'admitted = :s',
            ExpressionAttributeValues: { ':s': shard },
          }),
        );
        items.push(...(out.Items ?? []));
      }
      return items;
    };
    expect(await admitted()).toEqual([
      expect.objectContaining({ digest: key.digest, verdict: 'PASS', tags: ['v1'] }),
    ]);
    await store.write(planWrite(pass.record, draftAt('2026-11-23T01:00:00Z', 'HIGH')));
    expect(await admitted()).toEqual([]);
  });

  it('touches only evaluatedAt when nothing changed', async () => {
    const { store, table } = await newStore();
    const first = planWrite(undefined, draftAt('2026-11-23T00:00:00Z'));
    await store.write(first);
    await store.write(
      planWrite(first.record, draftAt('2026-11-23T05:00:00Z', 'LOW', first.record)),
    );
    expect(await store.get(key)).toEqual({
      ...first.record,
      evaluatedAt: '2026-11-23T05:00:00.000Z',
    });
    expect(await history(table)).toHaveLength(1);
  });

  it('leaves out a quiet touch (a nightly re-judgement that changed nothing)', async () => {
    const { store, table } = await newStore();
    const first = planWrite(undefined, draftAt('2026-11-23T00:00:00Z'));
    await store.write(first);
    const touch = planWrite(first.record, draftAt('2026-11-24T02:00:00Z', 'LOW', first.record));
    expect(touch.kind).toBe('touch');
    await store.write({ ...touch, quiet: true });
    expect(await store.get(key)).toEqual(first.record);
    // The same touch from an event is written, as before.
    await store.write(touch);
    expect((await store.get(key))?.evaluatedAt).toBe('2026-11-24T02:00:00.000Z');
    expect(await history(table)).toHaveLength(1);
  });

  it('rejects a write whose expected version is stale', async () => {
    const { store } = await newStore();
    const first = planWrite(undefined, draftAt('2026-11-23T00:00:00Z'));
    await store.write(first);
    await expect(store.write(first)).rejects.toBeInstanceOf(StoreConflictError);
    const second = planWrite(first.record, draftAt('2026-11-23T01:00:00Z', 'HIGH'));
    await store.write(second);
    await expect(
      store.write(planWrite(first.record, draftAt('2026-11-23T02:00:00Z', 'HIGH'))),
    ).rejects.toThrow('no longer at version 1');
    await expect(
      store.write(planWrite(first.record, draftAt('2026-11-23T02:00:00Z'))),
    ).rejects.toBeInstanceOf(StoreConflictError);
  });

  it('two concurrent evaluations of one digest lose no transition', async () => {
    const { store, table } = await newStore();
    const world = new MemoryRegistry().put({ key, tags: ['v1'] }, completeScan([]));
    // Both evaluations read version 0 before either writes; as the first write starts a
    // CRITICAL finding appears, so the loser must re-read the facts, not just retry its write.
    let gets = 0;
    let release: () => void = () => {};
    const bothRead = new Promise<void>((resolve) => {
      release = resolve;
    });
    let writes = 0;
    const racing: VerdictStore = {
      async get(k) {
        const record = await store.get(k);
        if (++gets === 2) release();
        return record;
      },
      async write(plan) {
        await bothRead;
        // Changed as the first write starts, so the finding is there whenever the loser
        // re-reads, however long the winner's write takes.
        if (++writes === 1) {
          world.put({ key, tags: ['v1'] }, completeScan([finding('CVE-9', 'CRITICAL')]));
        }
        await store.write(plan);
      },
    };
    const gate = { images: world, findings: world, store: racing, policy: policyOf() };
    const results = await Promise.all([
      evaluateImage(
        { key, trigger: 'push' },
        { ...gate, clock: () => new Date('2026-11-23T00:00:00Z') },
      ),
      evaluateImage(
        { key, trigger: 'scan' },
        { ...gate, clock: () => new Date('2026-11-23T00:00:01Z') },
      ),
    ]);
    const final = await store.get(key);
    expect(final?.verdict).toBe('FAIL');
    const transitions = (await history(table)).map(
      (h) => `${h.previousVerdict ?? 'none'}→${h.verdict}`,
    );
    expect(transitions).toEqual(['none→PASS', 'PASS→FAIL']);
    expect(results.map((r) => r.write).sort()).toEqual(['transition', 'transition']);
    expect(final?.version).toBe(2);
  });

  describe('a history write that fails after CURRENT was written', () => {
    /** The table's client, except that the first put of a history item fails. */
    function failingHistoryOnce(): { client: DynamoDBDocumentClient; failed: () => number } {
      let failed = 0;
      const client = new Proxy(dynamo.documents, {
        get(target, property, receiver) {
          if (property !== 'send') return Reflect.get(target, property, receiver);
          return async (command: { input?: { Item?: { sk?: unknown } } }) => {
            const sk = command.input?.Item?.sk;
            if (failed === 0 && typeof sk === 'string' && sk.startsWith('H#')) {
              failed += 1;
              throw Object.assign(new Error('connection reset by the test'), { name: 'Reset' });
            }
            return target.send(command as never);
          };
        },
      });
      return { client, failed: () => failed };
    }

    const world = () => new MemoryRegistry().put({ key, tags: ['v1'] }, completeScan([]));
    const at = (iso: string) => () => new Date(iso);

    it.each([
      ['a later retry (touch)', '2026-11-23T00:05:00Z', ['v1'], 'push'],
      [
        'a nightly retry (a quiet touch is written when it repairs)',
        '2026-11-24T02:00:00Z',
        ['v1'],
        'rescan',
      ],
      ['a retry that sees new tags (update)', '2026-11-23T00:05:00Z', ['v1', 'v2'], 'push'],
      ['the next transition (a CRITICAL finding)', '2026-11-23T00:05:00Z', ['v1'], 'push'],
    ] as const)('is written by %s', async (name, retryAt, tags, trigger) => {
      const table = await dynamo.newTable();
      const faulty = failingHistoryOnce();
      const store = new DynamoDbVerdictStore({ tableName: table, client: faulty.client });
      const registry = world();
      const gate = { images: registry, findings: registry, store, policy: policyOf() };
      await expect(
        evaluateImage({ key, trigger: 'push' }, { ...gate, clock: at('2026-11-23T00:00:00Z') }),
      ).rejects.toThrow('connection reset by the test');
      expect(faulty.failed()).toBe(1);
      const current = await store.get(key);
      expect(current?.verdict).toBe('PASS');
      expect(await history(table)).toEqual([]);

      const critical = name.includes('CRITICAL');
      registry.put(
        { key, tags: [...tags] },
        completeScan(critical ? [finding('CVE-9', 'CRITICAL')] : []),
      );
      await evaluateImage({ key, trigger }, { ...gate, clock: at(retryAt) });
      const items = await history(table);
      expect(items.map((h) => h.verdict)).toEqual(critical ? ['PASS', 'FAIL'] : ['PASS']);
      expect(items.slice(0, 1)).toEqual([
        expect.objectContaining({
          sk: 'H#2026-11-23T00:00:00.000Z#00000001',
          transitionId: current?.transitionId,
          verdict: 'PASS',
          version: 1,
        }),
      ]);
      // The flag is gone from the stored item and never reaches readers.
      const raw = await dynamo.documents.send(
        new GetCommand({ TableName: table, Key: { pk: imagePartitionKey(key), sk: 'CURRENT' } }),
      );
      expect(raw.Item).not.toHaveProperty('historyPending');
      expect(await store.get(key)).not.toHaveProperty('historyPending');
    });

    it('leaves no flag on CURRENT once the history item is written', async () => {
      const { store, table } = await newStore();
      const first = planWrite(undefined, draftAt('2026-11-23T00:00:00Z'));
      await store.write(first);
      const raw = await dynamo.documents.send(
        new GetCommand({ TableName: table, Key: { pk: imagePartitionKey(key), sk: 'CURRENT' } }),
      );
      expect(raw.Item).not.toHaveProperty('historyPending');
      expect(await history(table)).toHaveLength(1);
    });
  });
});
