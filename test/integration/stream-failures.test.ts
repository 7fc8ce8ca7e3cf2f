import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createHandler } from '../../functions/changes/handler';
import { SqsRebuildTrigger } from '../../shared/adapters/aws/allowlist-trigger';
import { DeliveryMarkers } from '../../shared/adapters/aws/delivery-markers';
import { S3RecordParking } from '../../shared/adapters/aws/s3-record-parking';
import { SnsPublisher } from '../../shared/adapters/aws/sns-publisher';
import { runCli } from '../support/cli';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { type LocalS3, startS3rver } from '../support/s3rver';
import { streamEvent, streamRecord } from '../support/streams';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:registry-watcher-verdict-events';
const QUEUE =
  'https://sqs.eu-west-1.amazonaws.com/123456789012/registry-watcher-allowlist-rebuild.fifo';
const ENV = [
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
];
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);
const now = new Date('2026-11-23T02:14:08.000Z');
const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
const metrics = { addMetric: () => undefined, publishStoredMetrics: () => undefined };

let dynamo: LocalDynamo;
let s3: LocalS3;
let table: string;

beforeAll(async () => {
  dynamo = await startDynalite();
  s3 = await startS3rver('failed-records');
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'eu-west-1',
  });
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await s3.stop();
  await dynamo.stop();
});
beforeEach(async () => {
  table = await dynamo.newTable();
  sns.reset();
  sqs.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm' });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'q' });
  for (const key of await keys('')) {
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
  }
});

function lambda() {
  return createHandler(
    () => ({
      publisher: new SnsPublisher(TOPIC, new SNSClient({ region: 'eu-west-1' })),
      markers: new DeliveryMarkers({ tableName: table, channel: 'SNS', client: dynamo.documents }),
      trigger: new SqsRebuildTrigger(QUEUE, 30_000, new SQSClient({ region: 'eu-west-1' })),
      parking: new S3RecordParking(s3.bucket, s3.client),
      clock: () => now,
    }),
    metrics,
  );
}

const S = (value: string) => ({ S: value });
const N = (value: number) => ({ N: String(value) });

/** A CURRENT item as DynamoDB stores it; `verdict` and `code` let a test drift the schema. */
function image(n: number, verdict: string, transitionId: string, code = 'VULNERABILITY') {
  return {
    pk: S(
      `IMG#123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/api@sha256:${String(n).repeat(64)}`,
    ),
    sk: S('CURRENT'),
    registry: S('123456789012.dkr.ecr.eu-west-1.amazonaws.com'),
    repository: S('prod/api'),
    digest: S(`sha256:${String(n).repeat(64)}`),
    tags: { L: [S('1.4.2')] },
    verdict: S(verdict),
    reasons: {
      L: [{ M: { code: S(code), effect: S('warn'), message: S('from a newer writer') } }],
    },
    version: N(1),
    transitionId: S(transitionId),
    transitionAt: S('2026-11-23T02:14:07.000Z'),
    evaluatedAt: S('2026-11-23T02:14:07.000Z'),
  };
}

const record = (n: number, verdict: string, transitionId: string, code?: string) =>
  streamRecord(table, undefined, image(n, verdict, transitionId, code) as never);

async function keys(prefix: string): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (out.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
}

async function body(key: string): Promise<unknown> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return JSON.parse((await out.Body?.transformToString()) ?? '');
}

const publishedIds = () =>
  sns.commandCalls(PublishCommand).map((c) => JSON.parse(c.args[0].input.Message ?? '{}').id);

/** Lambda's S3 on-failure object for a stream batch whose retries ran out (payload = the event). */
function onFailureObject(records: DynamoDBRecord[]) {
  return {
    version: '1.0',
    timestamp: '2026-11-23T02:20:00.000Z',
    requestContext: {
      requestId: 'c9b8fa9f-5a7f-4b8e-9f4b-2e1c7d2a9f10',
      functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:changes',
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 11,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    DDBStreamBatchInfo: {
      shardId: 'shardId-00000001',
      startSequenceNumber: records[0]?.dynamodb?.SequenceNumber,
      endSequenceNumber: records.at(-1)?.dynamodb?.SequenceNumber,
      batchSize: records.length,
      streamArn: records[0]?.eventSourceARN,
    },
    payload: JSON.stringify(streamEvent(records)),
  };
}

describe('changes: what cannot be announced is kept whole', () => {
  it('parks a record of the wrong shape whole and goes on; an unknown reason code is no failure', async () => {
    const good = record(1, 'PASS', 't1');
    const drifted = record(2, 'MAYBE', 't2');
    const newer = record(3, 'WARN', 't3', 'SOME_FUTURE_CODE');
    const broken = { ...record(4, 'PASS', 't4'), eventName: 'UPSERT' } as unknown as DynamoDBRecord;

    const response = await lambda()(streamEvent([good, drifted, newer, broken]));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(publishedIds()).toEqual(['t1', 't3']);
    const parked = await keys('parked/changes/');
    expect(parked.sort()).toEqual(
      [drifted, broken].map((r) => `parked/changes/${r.dynamodb?.SequenceNumber}.json`).sort(),
    );
    expect(await body(`parked/changes/${drifted.dynamodb?.SequenceNumber}.json`)).toEqual({
      kind: 'ParkedStreamRecord',
      id: drifted.dynamodb?.SequenceNumber,
      reason: expect.stringContaining('verdict'),
      parkedAt: now.toISOString(),
      record: drifted,
    });
  });

  it('retries a record that failed for a transient reason, and parks nothing', async () => {
    const first = record(1, 'PASS', 't1');
    const second = record(2, 'FAIL', 't2');
    sns.on(PublishCommand).resolvesOnce({ MessageId: 'm' }).rejects(new Error('socket hang up'));

    const response = await lambda()(streamEvent([first, second, record(3, 'PASS', 't3')]));

    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: second.dynamodb?.SequenceNumber }],
    });
    expect(await keys('parked/')).toEqual([]);
  });

  it('replays an on-failure batch once: what was announced before is not announced again', async () => {
    const batch = [record(1, 'PASS', 't1'), record(2, 'FAIL', 't2')];
    // The first delivery announced t1, then SNS failed on t2 until the retries ran out.
    sns.on(PublishCommand).resolvesOnce({ MessageId: 'm' }).rejects(new Error('throttled'));
    const delivered = await lambda()(streamEvent(batch));
    expect(delivered.batchItemFailures).toEqual([
      { itemIdentifier: batch[1]?.dynamodb?.SequenceNumber },
    ]);
    const key = 'aws/lambda/8a7c2f0e/shardId-00000001/2026/11/23/2026-11-23T02.20.00-1f2e.json';
    await s3.client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: key,
        Body: JSON.stringify(onFailureObject(batch)),
      }),
    );
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const args = ['replay', '--bucket', s3.bucket, '--table', table, '--topic-arn', TOPIC];
    const flags = [...args, '--rebuild-queue-url', QUEUE, '--prefix', 'aws/lambda/'];

    const first = await runCli(flags);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toContain(
      `s3://${s3.bucket}/${key}: 2 records, 1 published, 1 announced before`,
    );
    expect(publishedIds()).toEqual(['t2']);

    const again = await runCli(flags);
    expect(again.code).toBe(0);
    expect(again.out).toContain('2 records, 0 published, 2 announced before');
    expect(publishedIds()).toEqual(['t2']);

    // -o json: stdout is JSON Lines only; the totals go to stderr.
    const json = await runCli([...flags, '-o', 'json']);
    expect(json.code).toBe(0);
    expect(
      json.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      expect.objectContaining({ name: `s3://${s3.bucket}/${key}`, records: 2, published: 0 }),
    ]);
    expect(json.err).toBe('1 objects replayed, 0 with failures\n');
  });

  it('reports a parked record that still cannot be read, and an object with only shard coordinates', async () => {
    const drifted = record(2, 'MAYBE', 't2');
    await lambda()(streamEvent([drifted]));
    const coordinates = { ...onFailureObject([drifted]), payload: undefined };
    await s3.client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: 'aws/lambda/8a7c2f0e/shardId-00000001/2026/11/23/coordinates.json',
        Body: JSON.stringify(coordinates),
      }),
    );

    const out = await runCli([
      'replay',
      '--bucket',
      s3.bucket,
      '--table',
      table,
      '--topic-arn',
      TOPIC,
      '--rebuild-queue-url',
      QUEUE,
    ]);

    expect(out.code).toBe(1);
    expect(out.out).toContain(
      `1 records, 0 published, 0 announced before, failed again: ${drifted.dynamodb?.SequenceNumber}`,
    );
    expect(out.out).toContain('holds only shard coordinates (no payload)');
    expect(out.out).toContain('2 objects replayed, 2 with failures');
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});
