import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { loadFixture } from '../../events';
import { handler as _lambda, createHandler } from '../../functions/changes/handler';
import { SqsRebuildTrigger } from '../../shared/adapters/aws/allowlist-trigger';
import { DeliveryMarkers } from '../../shared/adapters/aws/delivery-markers';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { SnsPublisher } from '../../shared/adapters/aws/sns-publisher';
import { imagePartitionKey } from '../../shared/adapters/aws/verdict-table';
import { blockingFactsOf } from '../../shared/domain/blocking-facts';
import type { ImageKey } from '../../shared/domain/image-ref';
import { emptySeverityCounts } from '../../shared/domain/severity';
import type { VerdictValue } from '../../shared/domain/verdict';
import {
  planWrite,
  type VerdictDraft,
  type VerdictRecord,
} from '../../shared/domain/verdict-record';
import { keyOf } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { rawItem, streamEvent, streamRecord } from '../support/streams';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:registry-watcher-verdict-events';
const QUEUE =
  'https://sqs.eu-west-1.amazonaws.com/123456789012/registry-watcher-allowlist-rebuild.fifo';
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);

let dynamo: LocalDynamo;
let table: string;
let store: DynamoDbVerdictStore;
const now = new Date('2026-11-23T02:14:08.000Z');

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.stop();
});
beforeEach(async () => {
  table = await dynamo.newTable();
  store = new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents });
  sns.reset();
  sqs.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm' });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'q' });
});

function lambda() {
  return createHandler(() => ({
    publisher: new SnsPublisher(TOPIC, new SNSClient({ region: 'eu-west-1' })),
    markers: new DeliveryMarkers({ tableName: table, channel: 'SNS', client: dynamo.documents }),
    trigger: new SqsRebuildTrigger(QUEUE, 30_000, new SQSClient({ region: 'eu-west-1' })),
    clock: () => now,
  }));
}

function draft(key: ImageKey, verdict: VerdictValue, at: string, tags = ['1.4.2']): VerdictDraft {
  const counts = emptySeverityCounts();
  if (verdict === 'FAIL') counts.CRITICAL = 1;
  return {
    ...key,
    tags,
    scan: { state: 'complete', status: 'COMPLETE', scanner: 'ecr-basic' },
    verdict,
    reasons:
      verdict === 'FAIL'
        ? [
            {
              code: 'VULNERABILITY',
              effect: 'fail',
              message: 'CVE-2024-1 blocks',
              findings: ['CVE-2024-1'],
            },
          ]
        : [],
    severityCounts: counts,
    maxSeverity: verdict === 'FAIL' ? 'CRITICAL' : 'NONE',
    topFindings: [],
    findingClock: {},
    policyHash: 'sha256:policy',
    evaluatedAt: at,
  };
}

/** Writes through the real store and returns the stream records DynamoDB would emit. */
async function write(key: ImageKey, next: VerdictDraft) {
  const pk = imagePartitionKey(key);
  const before = await rawItem(dynamo, table, pk);
  const plan = planWrite(await store.get(key), next);
  await store.write(plan);
  const after = await rawItem(dynamo, table, pk);
  const records = plan.kind === 'none' ? [] : [streamRecord(table, before, after)];
  if (plan.kind === 'transition') {
    const r = plan.record as VerdictRecord;
    const sk = `H#${r.transitionAt}#${String(r.version).padStart(8, '0')}`;
    records.push(streamRecord(table, undefined, await rawItem(dynamo, table, pk, sk)));
  }
  return { records, record: plan.record };
}

const attr = (value: string) => ({ DataType: 'String', StringValue: value });

describe('changes: DynamoDB stream → SNS verdict events', () => {
  it('publishes one event per transition with the exact attributes, and marks the allowlist', async () => {
    const api = keyOf('prod/api', 1);
    const web = keyOf('team-a/web', 2);
    const first = await write(api, draft(api, 'PASS', '2026-11-20T09:00:00.000Z'));
    const webPass = await write(web, draft(web, 'PASS', '2026-11-20T09:00:00.000Z', ['2.0.0']));
    const toFail = await write(api, draft(api, 'FAIL', '2026-11-23T02:14:07.118Z'));
    const retag = await write(web, draft(web, 'PASS', '2026-11-23T02:14:07.500Z', ['2.0.1']));
    const touch = await write(web, draft(web, 'PASS', '2026-11-23T02:14:07.900Z', ['2.0.1']));
    // An evaluatedAt-only touch is a MODIFY too: it must announce nothing.
    expect(touch.records).toHaveLength(1);

    const event = streamEvent([
      ...first.records,
      ...webPass.records,
      ...toFail.records,
      ...retag.records,
      ...touch.records,
    ]);
    const response = await lambda()(event);
    expect(response).toEqual({ batchItemFailures: [] });

    const publishes = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(publishes).toHaveLength(3);
    const failEvent = publishes[2];
    expect(failEvent?.TopicArn).toBe(TOPIC);
    expect(failEvent?.Subject).toBe('[registry-watcher] FAIL (was PASS): prod/api:1.4.2');
    expect(failEvent?.MessageAttributes).toEqual({
      type: attr('verdict'),
      verdict: attr('FAIL'),
      previousVerdict: attr('PASS'),
      repository: attr('prod/api'),
      registry: attr(api.registry),
      maxSeverity: attr('CRITICAL'),
      deleted: attr('false'),
    });
    const body = JSON.parse(failEvent?.Message ?? '');
    expect(body).toMatchObject({
      apiVersion: 'registry-watcher/v1',
      kind: 'VerdictChanged',
      id: toFail.record.transitionId,
      verdict: 'FAIL',
      previousVerdict: 'PASS',
      admitted: false,
      image: { repository: 'prod/api', digest: api.digest, tags: ['1.4.2'] },
      severityCounts: { CRITICAL: 1 },
      reasons: [{ code: 'VULNERABILITY', findings: ['CVE-2024-1'] }],
    });
    expect(publishes[0]?.MessageAttributes?.previousVerdict).toEqual(attr('NONE'));

    const sends = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({
      QueueUrl: QUEUE,
      MessageGroupId: 'allowlist',
    });
    // Per window and the batch's dirty keys (a retried batch is dropped, another is not).
    expect(sends[0]?.MessageDeduplicationId).toMatch(
      new RegExp(`^rebuild-${Math.floor(now.getTime() / 30_000)}-[0-9a-f]{32}$`),
    );
    expect(JSON.parse(sends[0]?.MessageBody ?? '{}').dirty).toHaveLength(2);
  });

  it('publishes nothing twice when a stream batch is delivered again', async () => {
    const api = keyOf('prod/api', 3);
    const a = await write(api, draft(api, 'PASS', '2026-11-20T09:00:00.000Z'));
    const b = await write(api, draft(api, 'FAIL', '2026-11-23T02:00:00.000Z'));
    const event = streamEvent([...a.records, ...b.records]);
    const handler = lambda();
    await handler(event);
    await handler(event);
    await lambda()(event);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
    const marker = await rawItem(dynamo, table, `EVENT#${b.record.transitionId}`, 'SNS');
    expect(marker?.status).toEqual({ S: 'COMPLETED' });
    expect(Number(marker?.ttl?.N)).toBeGreaterThan(now.getTime() / 1000);
  });

  it('reports the failed record so Lambda retries from it, then delivers each event once', async () => {
    const api = keyOf('prod/api', 4);
    const a = await write(api, draft(api, 'PASS', '2026-11-20T09:00:00.000Z'));
    const b = await write(api, draft(api, 'FAIL', '2026-11-23T02:00:00.000Z'));
    const records = [...a.records, ...b.records];
    const internal = Object.assign(new Error('Internal'), {
      name: 'InternalErrorException',
      $fault: 'server',
      $metadata: { httpStatusCode: 500 },
    });
    // A 500 on every one of withRetry's 5 attempts: the publish fails for this invocation.
    let mock = sns.on(PublishCommand).resolvesOnce({});
    for (let attempt = 0; attempt < 5; attempt++) mock = mock.rejectsOnce(internal);
    mock.resolves({});
    const failed = await lambda()(streamEvent(records));
    const failedSequence = b.records[0]?.dynamodb?.SequenceNumber;
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: failedSequence }]);
    // Lambda re-delivers from the failed record on.
    const from = records.findIndex((r) => r.dynamodb?.SequenceNumber === failedSequence);
    await lambda()(streamEvent(records.slice(from)));
    const ids = sns
      .commandCalls(PublishCommand)
      .map((c) => JSON.parse(c.args[0].input.Message ?? '{}').id as string);
    // 5 failed attempts in the first invocation, 1 in Lambda's retry.
    expect(ids.filter((id) => id === b.record.transitionId)).toHaveLength(6);
    expect(new Set(ids)).toEqual(new Set([a.record.transitionId, b.record.transitionId]));
    expect(sns.commandCalls(PublishCommand)).toHaveLength(7);
  });

  it('announces a FAIL digest that gains a blocking finding once, however often the stream delivers it', async () => {
    const api = keyOf('prod/api', 7);
    const failing = (at: string, ids: string[], extra: Partial<VerdictDraft> = {}) => ({
      ...draft(api, 'FAIL', at),
      blocking: blockingFactsOf(
        ids.map((id) => ({ id, severity: 'CRITICAL' as const, blocking: true })),
      ),
      ...extra,
    });
    const a = await write(api, failing('2026-11-20T09:00:00.000Z', ['CVE-2024-1']));
    const b = await write(api, failing('2026-11-21T09:00:00.000Z', ['CVE-2024-1', 'CVE-2024-2']));
    // Only order and a non-blocking count changed: written, not announced.
    const c = await write(
      api,
      failing('2026-11-22T09:00:00.000Z', ['CVE-2024-2', 'CVE-2024-1'], {
        severityCounts: { ...emptySeverityCounts(), CRITICAL: 2, LOW: 1 },
      }),
    );
    expect(c.records).toHaveLength(1);
    const event = streamEvent([...a.records, ...b.records, ...c.records]);
    await lambda()(event);
    await lambda()(event);
    await lambda()(streamEvent(b.records));
    const bodies = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(bodies.map((p) => p.MessageAttributes?.type?.StringValue)).toEqual([
      'verdict',
      'escalation',
    ]);
    const escalation = JSON.parse(bodies[1]?.Message ?? '{}');
    expect(escalation).toMatchObject({
      kind: 'VerdictEscalated',
      transitionId: a.record.transitionId,
      escalation: { newBlocking: ['CVE-2024-2'], newBlockingCount: 1 },
    });
    const marker = await rawItem(dynamo, table, `EVENT#${escalation.id}`, 'SNS');
    expect(marker?.status).toEqual({ S: 'COMPLETED' });
  });

  it('handles the documented-shape fixture', async () => {
    const response = await lambda()(loadFixture('dynamodb/stream-verdict-transition'));
    expect(response.batchItemFailures).toEqual([]);
    const publish = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(publish?.MessageAttributes).toMatchObject({
      verdict: attr('FAIL'),
      previousVerdict: attr('PASS'),
      repository: attr('prod/api'),
      maxSeverity: attr('CRITICAL'),
    });
    const expected = loadFixture('sns/verdict-event').Records[0]?.Sns;
    expect(publish?.Message).toBe(expected?.Message);
    expect(publish?.Subject).toBe(expected?.Subject);
  });

  it('delivery markers: a claim blocks others until completed, or until its lease ends', async () => {
    const markers = new DeliveryMarkers({
      tableName: table,
      channel: 'SNS',
      client: dynamo.documents,
      leaseMs: 60_000,
    });
    const t0 = new Date('2026-11-23T02:00:00.000Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);
    expect(await markers.claim('t-1', t0)).toBe('claimed');
    expect(await markers.claim('t-1', at(1_000))).toBe('busy');
    // The first delivery crashed: after the lease another one may deliver.
    expect(await markers.claim('t-1', at(61_000))).toBe('claimed');
    await markers.complete('t-1', at(62_000));
    expect(await markers.claim('t-1', at(600_000))).toBe('done');
    await markers.release('t-1'); // a completed marker is never released
    expect(await markers.claim('t-1', at(700_000))).toBe('done');
    expect(await markers.claim('t-2', t0)).toBe('claimed');
    await markers.release('t-2');
    expect(await markers.claim('t-2', at(1_000))).toBe('claimed');
  });

  it('rejects what is not a stream event', async () => {
    await expect(lambda()({ Records: 'x' })).rejects.toMatchObject({
      code: 'INVALID_EVENT',
    });
  });
});

// The deployed handler is built lazily: importing it must not read the environment.
test('the module-level handler is importable without configuration', () => {
  expect(typeof _lambda).toBe('function');
});
