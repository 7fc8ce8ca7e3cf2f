import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbFindingsFacts } from '../../shared/adapters/aws/dynamodb-findings-facts';
import {
  currentItem,
  DynamoDbVerdictStore,
} from '../../shared/adapters/aws/dynamodb-verdict-store';
import { DynamoDbFleetScan } from '../../shared/adapters/aws/fleet-scan';
import { imagePartitionKey } from '../../shared/adapters/aws/verdict-table';
import { evaluate } from '../../shared/domain/evaluate';
import { type FindingsFacts, factsOfScan } from '../../shared/domain/findings-facts';
import { FLEET_RECORD_ATTRIBUTES, type FleetRecord } from '../../shared/domain/fleet-record';
import { imageId } from '../../shared/domain/image-ref';
import { draftFrom, planWrite, previousEvaluation } from '../../shared/domain/verdict-record';
import type { FleetItem } from '../../shared/ports/questions';
import { whatIf } from '../../shared/services/fleet-questions';
import { completeScan, finding, keyOf, policyOf } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

const summary = { state: 'complete', status: 'COMPLETE', scanner: 'ecr-basic' } as const;
const BASE = policyOf('defaults:\n  block: { severity: CRITICAL }\n');

describe('DynamoDbFleetScan (dynalite)', () => {
  let dynamo: LocalDynamo;
  let tableName: string;
  // 400 findings in parts of 1,000 compressed bytes: the facts head is followed by part items.
  const many = Array.from({ length: 400 }, (_, i) =>
    finding(`CVE-2026-${10_000 + i * 7919}`, 'HIGH', {
      package: { name: `lib-${(i * 31) % 97}`, version: `${i}.${(i * 13) % 7}` },
    }),
  );

  beforeAll(async () => {
    dynamo = await startDynalite();
    tableName = await dynamo.newTable('fleet');
    const facts = new DynamoDbFindingsFacts({
      tableName,
      client: dynamo.documents,
      partBytes: 1_000,
    });
    const store = new DynamoDbVerdictStore({ tableName, client: dynamo.documents });
    // Each digest judged twice (two scans: a transition leaves a history item, and old facts).
    for (const [n, findings] of [
      [1, many],
      [2, [finding('CVE-1', 'HIGH')]],
      [3, [finding('CVE-1', 'LOW')]],
    ] as const) {
      const key = keyOf('prod/api', n);
      let previous: Awaited<ReturnType<typeof store.get>>;
      for (const [at, scanFindings] of [
        ['2026-11-20T00:00:00.000Z', [finding('CVE-0', 'CRITICAL')]],
        ['2026-11-21T00:00:00.000Z', findings],
      ] as const) {
        const scan = { ...completeScan([...scanFindings]), completedAt: at };
        const ref = await facts.put(factsOfScan(key, scan) as FindingsFacts);
        const e = evaluate({
          image: key,
          scan,
          policy: BASE,
          now: new Date(at),
          previous: previousEvaluation(previous),
        });
        const draft = draftFrom({ key, tags: [`v${n}`] }, summary, e, undefined, previous);
        const plan = planWrite(previous, { ...draft, facts: [ref] });
        await store.write(plan);
        previous = plan.record;
      }
    }
  }, 60_000);

  afterAll(() => dynamo.stop());

  it.each(['auto', 'table'] as const)(
    'reads verdicts and facts heads only (no history, no parts), verdicts without top findings (source %s)',
    async (source) => {
      const items: FleetItem[] = [];
      for await (const page of new DynamoDbFleetScan({
        tableName,
        client: dynamo.documents,
        source,
      }).pages())
        items.push(...page);
      const verdicts = items.flatMap((i) => (i.kind === 'verdict' ? [i.record] : []));
      const facts = items.flatMap((i) => (i.kind === 'facts' ? [i] : []));
      expect(verdicts.map((r) => r.digest.slice(-1)).sort()).toEqual(['1', '2', '3']);
      expect(verdicts.every((r) => !('topFindings' in r) && !('blocking' in r))).toBe(true);
      expect(verdicts.every((r) => r.verdict === 'FAIL' || r.verdict === 'PASS')).toBe(true);
      expect(facts).toHaveLength(6);
      const big = facts.find(
        (f) =>
          f.key.digest === keyOf('prod/api', 1).digest && f.completedAt.startsWith('2026-11-21'),
      );
      expect((await big?.load())?.findings).toEqual(many);
      const stored = await new DynamoDbVerdictStore({ tableName, client: dynamo.documents }).get(
        keyOf('prod/api', 1),
      );
      const { topFindings: _t, blocking: _b, ...read } = stored ?? ({} as Record<string, unknown>);
      const picked = Object.fromEntries(
        Object.entries(read).filter(([k]) =>
          (FLEET_RECORD_ATTRIBUTES as readonly string[]).includes(k),
        ),
      );
      expect(verdicts.find((r) => r.digest === keyOf('prod/api', 1).digest)).toEqual(picked);
    },
  );

  it('puts a verdict written before the fleet index into it on its next quiet touch, once', async () => {
    const key = keyOf('legacy/app', 9);
    const store = new DynamoDbVerdictStore({ tableName, client: dynamo.documents });
    const e = evaluate({ image: key, scan: completeScan([]), policy: BASE, now: new Date(0) });
    const draft = draftFrom({ key, tags: ['old'] }, summary, e, undefined, undefined);
    const { record } = planWrite(undefined, draft);
    const { fleet: _f, q: _q, ...legacy } = currentItem(imagePartitionKey(key), record);
    await dynamo.documents.send(new PutCommand({ TableName: tableName, Item: legacy }));
    const indexed = async (source: 'auto' | 'table' = 'auto') => {
      const digests: string[] = [];
      for await (const page of new DynamoDbFleetScan({
        tableName,
        client: dynamo.documents,
        source,
      }).pages())
        for (const item of page) if (item.kind === 'verdict') digests.push(item.record.digest);
      return digests.includes(key.digest);
    };
    expect(await indexed()).toBe(false);
    // Until then, only a read of the whole table (`--whole-table`) finds it.
    expect(await indexed('table')).toBe(true);
    const touch = async (at: string) => {
      const previous = await store.get(key);
      const plan = planWrite(previous, { ...draft, evaluatedAt: at });
      expect(plan.kind).toBe('touch');
      await store.write({ ...plan, quiet: true });
      return (await store.get(key))?.evaluatedAt;
    };
    // The first quiet touch writes (the index attributes, and the time with them)…
    expect(await touch('2026-11-22T00:00:00.000Z')).toBe('2026-11-22T00:00:00.000Z');
    expect(await indexed()).toBe(true);
    // …the next writes nothing, as every quiet touch of an indexed verdict.
    expect(await touch('2026-11-23T00:00:00.000Z')).toBe('2026-11-22T00:00:00.000Z');
    await dynamo.documents.send(
      new DeleteCommand({
        TableName: tableName,
        Key: { pk: imagePartitionKey(key), sk: 'CURRENT' },
      }),
    );
  });

  it('reads a verdict indexed without its compact record (too large) from the table', async () => {
    const key = keyOf('large/app', 8);
    const e = evaluate({ image: key, scan: completeScan([]), policy: BASE, now: new Date(0) });
    const draft = draftFrom({ key, tags: ['big'] }, summary, e, undefined, undefined);
    const { record } = planWrite(undefined, draft);
    const { q: _q, ...item } = currentItem(imagePartitionKey(key), record);
    await dynamo.documents.send(new PutCommand({ TableName: tableName, Item: item }));
    const verdicts: FleetRecord[] = [];
    for await (const page of new DynamoDbFleetScan({ tableName, client: dynamo.documents }).pages())
      for (const i of page) if (i.kind === 'verdict') verdicts.push(i.record);
    expect(verdicts.find((r) => r.digest === key.digest)).toMatchObject({
      verdict: record.verdict,
      tags: ['big'],
    });
    await dynamo.documents.send(
      new DeleteCommand({
        TableName: tableName,
        Key: { pk: imagePartitionKey(key), sk: 'CURRENT' },
      }),
    );
  });

  it.each([1, 3])(
    'what-if over %i segment(s) replays every current verdict from its facts',
    async (segments) => {
      const fleet = new DynamoDbFleetScan({ tableName, client: dynamo.documents, segments });
      const report = await whatIf(
        fleet,
        policyOf('defaults:\n  block: { severity: HIGH }\n'),
        new Date('2026-11-22T00:00:00Z'),
      );
      expect(report).toMatchObject({ digests: 3, replayed: 3, notReplayable: 0 });
      // Digest 1 (400 HIGH) and 2 (one HIGH) fail under HIGH; 3 (LOW) still passes.
      expect(report.changes.map((c) => [c.image, c.from, c.to])).toEqual(
        [1, 2].map((n) => [imageId(keyOf('prod/api', n)), 'PASS', 'FAIL']),
      );
    },
  );
});
