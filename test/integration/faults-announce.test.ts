import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import {
  logger as changesLogger,
  createHandler as createChangesHandler,
} from '../../functions/changes/handler';
import {
  createHandler as createNotifyHandler,
  logger as notifyLogger,
} from '../../functions/notify/handler';
import { awsClient } from '../../shared/adapters/aws/clients';
import { DeliveryMarkers } from '../../shared/adapters/aws/delivery-markers';
import {
  DynamoDbVerdictStore,
  documentClient,
} from '../../shared/adapters/aws/dynamodb-verdict-store';
import { SnsPublisher } from '../../shared/adapters/aws/sns-publisher';
import { SqsVisibilityDeferral } from '../../shared/adapters/aws/sqs-deferral';
import { imagePartitionKey } from '../../shared/adapters/aws/verdict-table';
import { SlackWebhook } from '../../shared/adapters/slack/webhook';
import { WebhookUrl } from '../../shared/adapters/slack/webhook-url';
import { planWrite, type VerdictRecord } from '../../shared/domain/verdict-record';
import { silentLog } from '../../shared/ports';
import { draftOf, keyOf } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { type FaultProxy, type FaultRates, seeded, startFaultProxy } from '../support/fault-proxy';
import { LoopbackTopic } from '../support/sns-topic';
import { LoopbackQueue } from '../support/sqs-queue';
import { rawItem, streamEvent, streamRecord } from '../support/streams';

// The announce hops under faults: verdict transitions as the DynamoDB stream delivers them
// (one shard, batches of 10, a failed record retried with the rest of its batch, 10 retries
// then the on-failure destination, replayed at the end) → `changes` → SNS (Query protocol on
// loopback) → a raw SQS subscription → `notify` → a Slack webhook on loopback. The markers
// table, SNS and Slack sit behind fault proxies, and SNS has one outage longer than the
// stream's retries. Every transition must reach Slack; what may repeat is a post whose response
// was lost after Slack took it (a webhook has no idempotency key): no more repeats than that.

const IMAGES = 24;
const ROUNDS = 6;
const BATCH = 10;
const STREAM_RETRIES = 10;
const NOTIFY_MAX_RECEIVES = 10;
const MINUTE = 60_000;
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:registry-watcher-verdict-events';
const SLACK_PATH = '/services/T000/B000/XXXXSECRETXXXX';
const FAULTS: FaultRates = {
  throttle: 0.05,
  'server-error': 0.04,
  latency: 0.03,
  reset: 0.03,
  'lost-response': 0.05,
};
const NO_FAULTS: FaultRates = {};
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE;

/** Slack's side: every accepted post, by body. */
class SlackInbox {
  readonly posts: string[] = [];
  url = '';
  private readonly server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== SLACK_PATH) {
        res.writeHead(404).end('no_service');
        return;
      }
      this.posts.push(body);
      res.writeHead(200).end('ok');
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}

let dynamo: LocalDynamo;
let records: DynamoDBRecord[];
let transitions: number;

/** Writes ROUNDS verdict changes per image through the real store; the stream records in order. */
async function streamOfTransitions(random: () => number): Promise<DynamoDBRecord[]> {
  const table = await dynamo.newTable('verdicts');
  const store = new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents });
  const out: DynamoDBRecord[] = [];
  transitions = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const order = Array.from({ length: IMAGES }, (_, n) => n).sort(() => random() - 0.5);
    for (const n of order) {
      const key = keyOf(`prod/svc-${n % 3}`, 2_000 + n);
      const pk = imagePartitionKey(key);
      const before = await rawItem(dynamo, table, pk);
      const plan = planWrite(
        await store.get(key),
        draftOf(key, {
          verdict: round % 2 === 0 ? 'PASS' : 'FAIL',
          tags: [`v${n}`],
          evaluatedAt: new Date(T0 + (round * IMAGES + n) * MINUTE).toISOString(),
        }),
      );
      await store.write(plan);
      out.push(streamRecord(table, before, await rawItem(dynamo, table, pk)));
      if (plan.kind === 'transition') {
        transitions += 1;
        const r = plan.record as VerdictRecord;
        const sk = `H#${r.transitionAt}#${String(r.version).padStart(8, '0')}`;
        out.push(streamRecord(table, undefined, await rawItem(dynamo, table, pk, sk)));
      }
    }
  }
  return out;
}

interface Figures {
  streamInvocations: number;
  keptOnFailure: number;
  snsPublishes: number;
  snsDistinct: number;
  slackPosts: string[];
  notifyReceives: number;
  deferred: number;
  deadLettered: number;
  injected: Record<string, number>;
  /** Slack responses lost after Slack took the post. */
  slackResponsesLost: number;
}

async function play(rates: FaultRates, seed: number): Promise<Figures> {
  let nowMs = T0 + ROUNDS * IMAGES * MINUTE;
  const clock = () => new Date(nowMs);
  const random = seeded(seed);
  const outageFrom = nowMs + 20 * MINUTE;
  const outage = (at: number) =>
    rates !== NO_FAULTS && at >= outageFrom && at < outageFrom + (STREAM_RETRIES + 5) * MINUTE;
  const topic = new LoopbackTopic();
  const slack = new SlackInbox();
  const queue = new LoopbackQueue(() => nowMs, 5 * MINUTE);
  await Promise.all([topic.start(), slack.start(), queue.start()]);
  const proxies: FaultProxy[] = await Promise.all([
    startFaultProxy(dynamo.endpoint, rates, random),
    // An SNS outage longer than the stream's retries: those records go to on-failure.
    startFaultProxy(topic.url, rates, random, 'aws-query', () => outage(nowMs)),
    startFaultProxy(slack.url, rates, random, 'http'),
  ]);
  const [dynamoProxy, snsProxy, slackProxy] = proxies as [FaultProxy, FaultProxy, FaultProxy];
  topic.subscribe((m) => queue.send(m.body));
  const local = { region: 'eu-west-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } };
  const handler = { requestHandler: { requestTimeout: 2_000 } };
  const dynamoClient = awsClient(DynamoDBClient, {
    ...local,
    ...handler,
    endpoint: dynamoProxy.endpoint,
  });
  const snsClient = awsClient(SNSClient, { ...local, ...handler, endpoint: snsProxy.endpoint });
  const sqsClient = awsClient(SQSClient, { ...local, endpoint: queue.url });
  const markersTable = await dynamo.newTable('markers');
  const documents = documentClient(dynamoClient);
  const rebuilds: Date[] = [];
  const unprinted = { addMetric: () => undefined, publishStoredMetrics: () => undefined };

  const changes = createChangesHandler(
    () => ({
      publisher: new SnsPublisher(TOPIC, snsClient),
      markers: new DeliveryMarkers({
        tableName: markersTable,
        channel: 'SNS',
        client: documents,
        leaseMs: 2 * MINUTE,
      }),
      trigger: { requestRebuild: async (at: Date) => void rebuilds.push(at) },
      clock,
      log: silentLog,
    }),
    unprinted,
  );
  let deferred = 0;
  const notify = createNotifyHandler(
    () => ({
      sink: new SlackWebhook({
        urls: { url: async () => new WebhookUrl(`${slackProxy.endpoint}${SLACK_PATH}`) },
        sleep: async () => undefined,
        minIntervalMs: 0,
        timeoutMs: 10_000,
        // Slack's Retry-After (1 s here) outlasts the in-process budget: the message is deferred.
        maxRetryAfterMs: 500,
      }),
      markers: new DeliveryMarkers({
        tableName: markersTable,
        channel: 'SLACK',
        client: documents,
        leaseMs: 5 * MINUTE,
      }),
      deferral: {
        defer: async (receipt: string, ms: number) => {
          deferred += 1;
          return new SqsVisibilityDeferral(queue.url, sqsClient).defer(receipt, ms);
        },
      },
      clock,
      log: silentLog,
    }),
    unprinted,
  );

  const figures = { streamInvocations: 0, keptOnFailure: 0, notifyReceives: 0, deadLettered: 0 };
  const deadLetters: string[] = [];
  const pollNotify = async () => {
    const event = queue.receive();
    if (event.Records.length === 0) return;
    figures.notifyReceives += event.Records.length;
    const result = await notify(event);
    queue.settle(event, result.batchItemFailures);
    const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
    for (const r of event.Records) {
      if (
        failed.has(r.messageId) &&
        Number(r.attributes.ApproximateReceiveCount) >= NOTIFY_MAX_RECEIVES
      ) {
        deadLetters.push(r.body);
        queue.settle({ Records: [r] }, []);
      }
    }
  };
  /** Lambda's stream poller for one shard: returns the batches it gave up on. */
  const deliverStream = async (stream: DynamoDBRecord[]): Promise<DynamoDBRecord[][]> => {
    const kept: DynamoDBRecord[][] = [];
    let position = 0;
    let retries = 0;
    while (position < stream.length) {
      const batch = stream.slice(position, position + BATCH);
      figures.streamInvocations += 1;
      const result = await changes(streamEvent(batch));
      await pollNotify();
      nowMs += MINUTE;
      const failedId = result.batchItemFailures[0]?.itemIdentifier;
      if (failedId === undefined) {
        position += batch.length;
        retries = 0;
        continue;
      }
      position += Math.max(
        0,
        batch.findIndex((r) => r.dynamodb?.SequenceNumber === failedId),
      );
      retries += 1;
      if (retries > STREAM_RETRIES) {
        const given = stream.slice(position, position + BATCH);
        kept.push(given);
        position += given.length;
        retries = 0;
      }
    }
    return kept;
  };

  try {
    let kept = await deliverStream(records);
    figures.keptOnFailure = kept.reduce((n, b) => n + b.length, 0);
    // What the on-failure destination kept is whole: replay it, as the runbook says.
    for (let pass = 0; kept.length > 0 && pass < 5; pass++) kept = await deliverStream(kept.flat());
    for (let poll = 0; queue.depth > 0 && poll < 500; poll++) {
      await pollNotify();
      nowMs += MINUTE;
    }
    // The DLQ holds whole messages: redrive them.
    for (const body of deadLetters.splice(0)) queue.send(body);
    for (let poll = 0; queue.depth > 0 && poll < 500; poll++) {
      await pollNotify();
      nowMs += MINUTE;
    }
    figures.deadLettered += deadLetters.length;
    const injected: Record<string, number> = {};
    for (const p of proxies)
      for (const [kind, n] of Object.entries(p.injected))
        injected[kind] = (injected[kind] ?? 0) + n;
    return {
      ...figures,
      snsPublishes: topic.published.length,
      snsDistinct: new Set(topic.published.map((m) => m.body)).size,
      slackPosts: slack.posts,
      deferred,
      injected,
      slackResponsesLost: slackProxy.injected['lost-response'],
    };
  } finally {
    dynamoClient.destroy();
    snsClient.destroy();
    sqsClient.destroy();
    await Promise.all([...proxies.map((p) => p.stop()), topic.stop(), slack.stop(), queue.stop()]);
  }
}

beforeAll(async () => {
  // Hundreds of expected failures would each log a line; the figures line says what happened.
  changesLogger.setLogLevel('SILENT');
  notifyLogger.setLogLevel('SILENT');
  dynamo = await startDynalite();
  records = await streamOfTransitions(seeded(7));
}, 60_000);
afterAll(async () => {
  await dynamo.stop();
});

it('every verdict transition reaches Slack through stream, SNS and Slack faults; posts that repeat are counted', async () => {
  const reference = await play(NO_FAULTS, 1);
  const underFaults = await play(FAULTS, 2);
  const distinct = (posts: string[]) => [...new Set(posts)].sort();
  const duplicatePosts = underFaults.slackPosts.length - distinct(underFaults.slackPosts).length;
  console.log(
    `announce faults: ${transitions} transitions in ${records.length} stream records, ` +
      `injected ${JSON.stringify(underFaults.injected)}, stream invocations ${underFaults.streamInvocations} ` +
      `(fault-free ${reference.streamInvocations}), records kept on failure then replayed ${underFaults.keptOnFailure}, ` +
      `SNS publishes ${underFaults.snsPublishes} for ${underFaults.snsDistinct} events, ` +
      `notify receives ${underFaults.notifyReceives} (fault-free ${reference.notifyReceives}), ` +
      `deferred by Retry-After ${underFaults.deferred}, dead-lettered after redrive ${underFaults.deadLettered}, ` +
      `Slack posts ${underFaults.slackPosts.length} for ${distinct(underFaults.slackPosts).length} messages (duplicate posts ${duplicatePosts}, Slack responses lost ${underFaults.slackResponsesLost})`,
  );
  // The fault-free run is the specification: one event and one post per transition.
  expect(reference.snsPublishes).toBe(transitions);
  expect(reference.slackPosts.length).toBe(transitions);
  expect(Object.values(underFaults.injected).every((n) => n > 0)).toBe(true);
  // Nothing lost: the same events and the same messages, whatever failed on the way.
  expect(underFaults.snsDistinct).toBe(transitions);
  expect(distinct(underFaults.slackPosts)).toEqual(distinct(reference.slackPosts));
  expect(underFaults.deadLettered).toBe(0);
  // The outage outlasted the stream's retries: the on-failure path and its replay were used.
  expect(underFaults.keptOnFailure).toBeGreaterThan(0);
  // A post repeats only when Slack took it and its answer was lost; a marker write that
  // failed on a dropped connection used to repeat posts too, until resets were retried.
  expect(duplicatePosts).toBeLessThanOrEqual(underFaults.slackResponsesLost);
}, 180_000);
