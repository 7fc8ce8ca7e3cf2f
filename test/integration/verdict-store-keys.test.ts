import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { streamChangeOf } from '../../shared/adapters/aws/stream-records';
import { DynamoDbVerdictCatalog } from '../../shared/adapters/aws/verdict-catalog';
import { MARSHALL_OPTIONS } from '../../shared/adapters/aws/verdict-item';
import { imagePartitionKey } from '../../shared/adapters/aws/verdict-table';
import { evaluate } from '../../shared/domain/evaluate';
import { changeOf } from '../../shared/domain/verdict-event';
import { previousEvaluation } from '../../shared/domain/verdict-record';
import { completeScan, finding, policyOf } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { hostileRecord } from '../support/hostile-record';

/** Names a plain-object lookup or assignment treats specially. */
const NAMES = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'];
const NOW = new Date('2026-12-03T12:00:00Z');

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

async function newStore() {
  const table = await dynamo.newTable();
  return { table, store: new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents }) };
}

describe('DynamoDbVerdictStore on dynalite: input-chosen names as keys', () => {
  it('finding ids, packages, repository, tags and exception named like prototype members round-trip whole', async () => {
    const { store, table } = await newStore();
    const record = hostileRecord(NAMES, NOW);
    expect(Object.keys(record.findingClock)).toEqual(NAMES);
    await store.write({ kind: 'transition', expectedVersion: 0, record });

    const back = await store.get(record);
    expect(back && Object.entries(back.findingClock)).toEqual(Object.entries(record.findingClock));
    expect(back).toEqual(record);
    // The scan of every CURRENT item (rescan catalog) reads the same record.
    const pages: unknown[] = [];
    for await (const page of new DynamoDbVerdictCatalog({
      tableName: table,
      client: dynamo.documents,
    }).pages())
      pages.push(...page);
    expect(pages).toEqual([record]);

    // On the wire the clock is a list of { id, at }: no input-chosen map key.
    const raw = await dynamo.client.send(
      new GetItemCommand({
        TableName: table,
        Key: { pk: { S: imagePartitionKey(record) }, sk: { S: 'CURRENT' } },
      }),
    );
    const ids = raw.Item?.findingClock?.L?.map((entry) => entry.M?.id?.S);
    expect(ids).toEqual(NAMES);
  });

  it('the stored clock carries grace across evaluations: a week later each id is past its deadline', async () => {
    const { store } = await newStore();
    const record = hostileRecord(NAMES, NOW);
    await store.write({ kind: 'transition', expectedVersion: 0, record });
    const later = evaluate({
      image: record,
      scan: completeScan(
        NAMES.map((id) => finding(id, 'HIGH')),
        '2026-12-09T00:00:00Z',
      ),
      policy: policyOf('defaults:\n  grace: { HIGH: 7d }\n'),
      previous: previousEvaluation(await store.get(record)),
      now: new Date(NOW.getTime() + 8 * 86_400_000),
    });
    expect(later.verdict).toBe('FAIL');
    const expired = later.reasons.find((r) => r.code === 'GRACE_EXPIRED');
    expect(expired?.findings).toEqual(NAMES);
    // Each clock kept its first-seen time (a lost id would restart at the later now).
    expect(Object.entries(later.findingClock)).toEqual(NAMES.map((id) => [id, NOW.toISOString()]));
  });

  it('without the codec, the document client refuses `constructor` and the wire drops `__proto__`', async () => {
    const { table } = await newStore();
    const record = hostileRecord(['constructor'], NOW);
    await expect(
      dynamo.documents.send(
        new PutCommand({
          TableName: table,
          Item: { ...record, pk: imagePartitionKey(record), sk: 'CURRENT' },
        }),
      ),
    ).rejects.toThrow(/Unsupported type passed/);
    const M = JSON.parse('{"__proto__": {"S": "p"}, "a": {"S": "x"}}');
    const Key = { pk: { S: 'IMG#raw' }, sk: { S: 'CURRENT' } };
    await dynamo.client.send(new PutItemCommand({ TableName: table, Item: { ...Key, m: { M } } }));
    const out = await dynamo.client.send(new GetItemCommand({ TableName: table, Key }));
    expect(Object.keys(out.Item?.m?.M ?? {})).toEqual(['a']);
  });

  it('a clock written as a map by an older version is still read', async () => {
    const { store, table } = await newStore();
    const record = hostileRecord(['toString', 'CVE-2026-1'], NOW);
    const item = { ...record, pk: imagePartitionKey(record), sk: 'CURRENT' };
    await dynamo.client.send(
      new PutItemCommand({ TableName: table, Item: marshall(item, MARSHALL_OPTIONS) }),
    );
    const back = await store.get(record);
    expect(back && Object.entries(back.findingClock)).toEqual(Object.entries(record.findingClock));
  });

  it('a stream record of the stored item is read and announced (changes)', async () => {
    const { store, table } = await newStore();
    const record = hostileRecord(NAMES, NOW);
    await store.write({ kind: 'transition', expectedVersion: 0, record });
    const raw = await dynamo.client.send(
      new GetItemCommand({
        TableName: table,
        Key: { pk: { S: imagePartitionKey(record) }, sk: { S: 'CURRENT' } },
      }),
    );
    // Lambda hands the image over as JSON text: parse it as the runtime does.
    const change = streamChangeOf(
      JSON.parse(
        JSON.stringify({
          eventName: 'INSERT',
          dynamodb: { SequenceNumber: '1', NewImage: raw.Item },
        }),
      ),
      0,
    );
    expect(change.problem).toBeUndefined();
    const { event } = changeOf(change.oldItem, change.newItem);
    expect(event?.verdict).toBe('WARN');
    expect(event?.image.tags).toEqual(record.tags);
    expect(event?.id).toBe(record.transitionId);
  });
});
