import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbFindingsFacts } from '../../shared/adapters/aws/dynamodb-findings-facts';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import {
  evaluateRequestEvent,
  requestsFromMessageBody,
} from '../../shared/adapters/aws/evaluate-events';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { evaluateBatch } from '../../shared/services/evaluate-batch';
import { evaluateImage } from '../../shared/services/evaluate-image';
import { completeScan, finding, keyOf, policyOf } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

const SCANNED = '2026-11-22T00:00:00.000Z';
const PUSHED = new Date('2026-11-22T01:00:00Z');
const NIGHT = new Date('2026-11-24T02:00:00Z');

/**
 * The table's client, counting commands by name; the first BatchGet answers for all keys but
 * one, which it hands back as unprocessed (what DynamoDB does under load).
 */
function counted(target: DynamoDBDocumentClient) {
  const calls = new Map<string, number>();
  let withheld = false;
  const client = new Proxy(target, {
    get(t, property, receiver) {
      if (property !== 'send') return Reflect.get(t, property, receiver);
      return async (command: { constructor: { name: string }; input: never }) => {
        const name = command.constructor.name;
        calls.set(name, (calls.get(name) ?? 0) + 1);
        if (name !== 'BatchGetCommand' || withheld) return t.send(command as never);
        withheld = true;
        const input = command.input as { RequestItems: Record<string, { Keys: unknown[] }> };
        const [table, request] = Object.entries(input.RequestItems)[0] ?? [];
        if (!table || !request) return t.send(command as never);
        const last = request.Keys.at(-1);
        const out = await t.send(
          new (command.constructor as never as new (i: unknown) => never)({
            RequestItems: { [table]: { ...request, Keys: request.Keys.slice(0, -1) } },
          }),
        );
        return { ...(out as object), UnprocessedKeys: { [table]: { ...request, Keys: [last] } } };
      };
    },
  });
  return { client, calls };
}

async function judgedFleet(n: number) {
  const tableName = await dynamo.newTable('batch');
  const registry = new MemoryRegistry();
  const keys = Array.from({ length: n }, (_, i) => keyOf(`team-${i % 3}/app`, i + 1));
  for (const [i, key] of keys.entries()) {
    const findings = i % 4 === 0 ? [finding(`CVE-2024-${i}`, 'LOW')] : [];
    registry.put({ key, tags: [`1.0.${i}`] }, completeScan(findings, SCANNED));
  }
  const seedStore = new DynamoDbVerdictStore({ tableName, client: dynamo.documents });
  const seedFacts = new DynamoDbFindingsFacts({ tableName, client: dynamo.documents });
  const policy = policyOf();
  for (const key of keys) {
    await evaluateImage(
      { key, trigger: 'push' },
      {
        images: registry,
        findings: registry,
        store: seedStore,
        facts: seedFacts,
        policy,
        clock: () => PUSHED,
      },
    );
  }
  const { client, calls } = counted(dynamo.documents);
  registry.calls.describeImage = 0;
  registry.calls.getFindings = 0;
  const options = {
    images: registry,
    findings: registry,
    store: new DynamoDbVerdictStore({ tableName, client }),
    facts: new DynamoDbFindingsFacts({ tableName, client }),
    policy,
    clock: () => NIGHT,
  };
  const message = (i: number, tags = [`1.0.${i}`]) => {
    const key = keys[i];
    if (!key) throw new Error(`no image ${i}`);
    const seen = { key, tags, scanCompletedAt: SCANNED };
    return { id: `m${i}`, body: JSON.stringify(evaluateRequestEvent(key, 'rescan', NIGHT, seen)) };
  };
  return { keys, registry, options, calls, message, seedStore };
}

describe('nightly requests of one batch read their items in batches and write only changes', () => {
  it('judges 105 unchanged images with 4 BatchGetItems (one key unprocessed once) and no write', async () => {
    const { keys, registry, options, calls, message, seedStore } = await judgedFleet(105);
    const before = await Promise.all(keys.map((k) => seedStore.get(k)));
    const outcome = await evaluateBatch(
      keys.map((_, i) => message(i)),
      options,
      requestsFromMessageBody,
    );
    expect(outcome.failed).toEqual([]);
    expect(outcome.results.map((r) => r.write)).toEqual(keys.map(() => 'touch'));
    // CURRENT: 100 + 5 keys, facts: 100 + 5, and the withheld key asked for again.
    expect(Object.fromEntries(calls)).toEqual({ BatchGetCommand: 5 });
    expect(registry.calls).toEqual({ describeImage: 0, getFindings: 0 });
    expect(await Promise.all(keys.map((k) => seedStore.get(k)))).toEqual(before);
  }, 120_000);

  it('writes the image whose listing changed, and only it', async () => {
    const { keys, options, calls, message, seedStore } = await judgedFleet(10);
    const outcome = await evaluateBatch(
      keys.map((_, i) => message(i, i === 7 ? ['1.0.7', 'latest'] : [`1.0.${i}`])),
      options,
      requestsFromMessageBody,
    );
    expect(outcome.failed).toEqual([]);
    expect(outcome.results.filter((r) => r.write !== 'touch').map((r) => r.write)).toEqual([
      'update',
    ]);
    expect(calls.get('GetCommand') ?? 0).toBe(0);
    expect(calls.get('PutCommand')).toBe(1);
    expect(calls.get('UpdateCommand') ?? 0).toBe(0);
    const moved = keys[7];
    if (!moved) throw new Error('no image 7');
    expect((await seedStore.get(moved))?.tags).toEqual(['1.0.7', 'latest']);
  }, 60_000);
});
