import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { createHandler } from '../../functions/evaluate/handler';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { evaluateRequestEvent } from '../../shared/domain/events';
import type { ImageKey } from '../../shared/domain/image-ref';
import { completeScan, finding, keyOf, policyOf, scanIn } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { sqsEvent } from '../support/sqs';

/**
 * DESIGN §1.1: events only say what to look at. 1,000 events (PUSH, SCAN, DELETE; 10%
 * duplicates) delivered shuffled must leave the table exactly as in-order delivery does,
 * with exactly one transition per real change.
 */
const NOW = new Date('2026-11-23T00:00:00Z');
const policy = policyOf();
const repositories = Array.from({ length: 10 }, (_, i) => `team-${i}/app`);

function ecrEvent(
  detailType: 'ECR Image Action' | 'ECR Image Scan',
  key: ImageKey,
  action?: 'PUSH' | 'DELETE',
) {
  return {
    version: '0',
    id: `${detailType}-${action ?? 'scan'}-${key.digest.slice(-8)}`,
    'detail-type': detailType,
    source: 'aws.ecr',
    account: '123456789012',
    time: NOW.toISOString(),
    region: 'eu-west-1',
    resources: [],
    detail:
      detailType === 'ECR Image Action'
        ? {
            result: 'SUCCESS',
            'repository-name': key.repository,
            'image-digest': key.digest,
            'action-type': action,
          }
        : {
            'scan-status': 'COMPLETE',
            'repository-name': key.repository,
            'image-digest': key.digest,
          },
  };
}

interface Scenario {
  old: ImageKey[];
  world: MemoryRegistry;
  events: object[];
  expectedTransitions: number;
}

/** 300 images already judged; then 300 pushes, 150 new CRITICAL findings, 150 deletions. */
function scenario(): Scenario {
  const world = new MemoryRegistry();
  const old = Array.from({ length: 300 }, (_, i) => keyOf(repositories[i % 10] as string, `a${i}`));
  for (const key of old)
    world.put({ key, tags: ['old'] }, completeScan([finding('CVE-LOW', 'LOW')]));
  return { old, world, events: [], expectedTransitions: 0 };
}

function applyChanges(s: Scenario): void {
  const unique: object[] = [];
  for (let i = 0; i < 300; i++) {
    const key = keyOf(repositories[i % 10] as string, `b${i}`);
    const scan =
      i % 3 === 0
        ? completeScan([finding('CVE-HIGH', 'HIGH')])
        : i % 3 === 1
          ? completeScan([])
          : scanIn('in-progress', 'IN_PROGRESS');
    s.world.put({ key, tags: [`v${i}`] }, scan);
    unique.push(ecrEvent('ECR Image Action', key, 'PUSH'), ecrEvent('ECR Image Scan', key));
  }
  s.old.slice(0, 150).forEach((key) => {
    s.world.put({ key, tags: ['old'] }, completeScan([finding('CVE-CRIT', 'CRITICAL')]));
    unique.push(ecrEvent('ECR Image Scan', key));
  });
  s.old.slice(150).forEach((key) => {
    s.world.delete(key);
    unique.push(ecrEvent('ECR Image Action', key, 'DELETE'));
  });
  // One transition per new image, per newly failing image, per deletion.
  s.expectedTransitions = 300 + 150 + 150;
  // 10% duplicates: every 9th event is delivered twice, the copy right behind it.
  s.events = unique.flatMap((e, i) => (i % 9 === 0 ? [e, e] : [e]));
}

function shuffled<T>(items: T[], seed: number): T[] {
  const [order] = fc.sample(
    fc.shuffledSubarray(
      items.map((_, i) => i),
      { minLength: items.length, maxLength: items.length },
    ),
    { seed, numRuns: 1 },
  );
  return (order ?? []).map((i) => items[i] as T);
}

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

async function replay(
  order: 'in-order' | 'shuffled',
): Promise<{ items: Record<string, unknown>[]; evaluations: number }> {
  const s = scenario();
  const table = await dynamo.newTable();
  const store = new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents });
  const handler = createHandler(() => ({
    images: s.world,
    findings: s.world,
    store,
    policy,
    clock: () => NOW,
  }));
  await handler(sqsEvent(s.old.map((key) => evaluateRequestEvent(key, 'reconcile', NOW))));
  const seeded = s.world.calls.describeImage;

  applyChanges(s);
  expect(s.events).toHaveLength(1000);
  const events = order === 'in-order' ? s.events : shuffled(s.events, 42);
  for (let i = 0; i < events.length; i += 10) {
    const result = await handler(sqsEvent(events.slice(i, i + 10)));
    expect(result.batchItemFailures).toEqual([]);
  }
  const items = await scanAll(table);
  const history = items.filter((item) => String(item.sk).startsWith('H#'));
  expect(history).toHaveLength(300 + s.expectedTransitions);
  return { items, evaluations: s.world.calls.describeImage - seeded };
}

async function scanAll(table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await dynamo.documents.send(
      new ScanCommand({ TableName: table, ExclusiveStartKey: start }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items.sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
}

it('shuffled, duplicated delivery leaves the same table as in-order delivery', async () => {
  const inOrder = await replay('in-order');
  const mixed = await replay('shuffled');
  expect(mixed.items).toEqual(inOrder.items);
  expect(mixed.items.filter((i) => i.sk === 'CURRENT')).toHaveLength(600);
  const verdicts = mixed.items
    .filter((i) => i.sk === 'CURRENT')
    .map((i) => (i.deletedAt ? 'DELETED' : i.verdict));
  expect(count(verdicts)).toEqual({ PASS: 100, FAIL: 250, PENDING: 100, DELETED: 150 });
  // Duplicates inside one batch are coalesced: fewer evaluations than events.
  expect(inOrder.evaluations).toBeLessThan(1000);
}, 240_000);

function count(values: unknown[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}
