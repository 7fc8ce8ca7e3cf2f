import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SNSEvent, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { loadFixture } from '../../events';
import { createHandler } from '../../functions/notify/handler';
import { DeliveryMarkers } from '../../shared/adapters/aws/delivery-markers';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { SecretsManagerWebhookUrl } from '../../shared/adapters/aws/slack-secret';
import { SnsPublisher } from '../../shared/adapters/aws/sns-publisher';
import { SqsVisibilityDeferral } from '../../shared/adapters/aws/sqs-deferral';
import { DynamoDbVerdictCatalog } from '../../shared/adapters/aws/verdict-catalog';
import { SlackWebhook } from '../../shared/adapters/slack/webhook';
import { planWrite } from '../../shared/domain/verdict-record';
import { publishDailyDigest } from '../../shared/services/daily-digest';
import { draftOf, keyOf } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { LoopbackQueue } from '../support/sqs-queue';
import { rawItem } from '../support/streams';

const PATH = '/services/T000/B000/XXXXSECRETXXXX';

/** A Slack incoming-webhook stand-in: checks Block Kit, answers from a script, counts deliveries. */
class SlackReceiver {
  server: Server = createServer((req, res) => void this.handle(req, res));
  script: { status: number; headers?: Record<string, string>; body: string }[] = [];
  requests = 0;
  delivered: { text: string; blocks: { type: string; [k: string]: unknown }[] }[] = [];
  problems: string[] = [];
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${PATH}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: import('node:http').ServerResponse) {
    this.requests += 1;
    let body = '';
    for await (const chunk of req) body += chunk;
    const problem = this.check(req, body);
    if (problem) {
      this.problems.push(problem);
      res.writeHead(400).end('invalid_payload');
      return;
    }
    const answer = this.script.shift() ?? { status: 200, body: 'ok' };
    if (answer.status === 200) this.delivered.push(JSON.parse(body));
    res.writeHead(answer.status, answer.headers).end(answer.body);
  }

  /** The Block Kit rules Slack enforces on incoming webhooks. */
  private check(req: IncomingMessage, body: string): string | undefined {
    if (req.method !== 'POST' || req.url !== PATH) return `wrong request ${req.method} ${req.url}`;
    if (!req.headers['content-type']?.startsWith('application/json')) return 'not JSON';
    const payload = JSON.parse(body) as { text?: unknown; blocks?: unknown };
    if (typeof payload.text !== 'string' || payload.text === '') return 'no fallback text';
    if (
      !Array.isArray(payload.blocks) ||
      payload.blocks.length === 0 ||
      payload.blocks.length > 50
    ) {
      return 'blocks missing or more than 50';
    }
    for (const block of payload.blocks as Record<string, unknown>[]) {
      const text = block.text as { type?: string; text?: string } | undefined;
      switch (block.type) {
        case 'header':
          if (text?.type !== 'plain_text' || !text.text || text.text.length > 150)
            return 'bad header';
          break;
        case 'section': {
          const fields = block.fields as { text: string }[] | undefined;
          if (!text && !fields) return 'empty section';
          if (text && (text.text?.length ?? 0) > 3000) return 'section text over 3000';
          if (fields && (fields.length > 10 || fields.some((f) => f.text.length > 2000))) {
            return 'bad fields';
          }
          break;
        }
        case 'context':
          if (!Array.isArray(block.elements) || block.elements.length > 10) return 'bad context';
          break;
        case 'divider':
          break;
        default:
          return `unknown block type ${String(block.type)}`;
      }
    }
    return undefined;
  }
}

const secrets = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
let slack: SlackReceiver;
let dynamo: LocalDynamo;
let table: string;
let waits: number[];
let nowMs = Date.parse('2026-12-03T07:00:00.000Z');
// The queue's own visibility timeout as the stack sets it (5 min × 6).
const queue = new LoopbackQueue(() => nowMs, 30 * 60_000);

beforeAll(async () => {
  slack = new SlackReceiver();
  [dynamo] = await Promise.all([startDynalite(), slack.start(), queue.start()]);
});
afterAll(async () => {
  await Promise.all([dynamo.stop(), slack.stop(), queue.stop()]);
});
beforeEach(async () => {
  table = await dynamo.newTable();
  slack.script = [];
  slack.requests = 0;
  slack.delivered = [];
  slack.problems = [];
  waits = [];
  handedBack = [];
  secrets.reset();
  secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ url: slack.url }) });
});

function lambda() {
  return createHandler(
    () => ({
      sink: new SlackWebhook({
        urls: new SecretsManagerWebhookUrl(
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack',
          {
            client: new SecretsManagerClient({ region: 'eu-west-1' }),
          },
        ),
        // Waits are recorded, not slept: the test checks what would have been waited.
        sleep: async (ms) => {
          waits.push(ms);
        },
      }),
      markers: new DeliveryMarkers({
        tableName: table,
        channel: 'SLACK',
        client: dynamo.documents,
      }),
      deferral: new SqsVisibilityDeferral(
        queue.url,
        new SQSClient({
          region: 'eu-west-1',
          endpoint: queue.url,
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
          maxAttempts: 1,
        }),
      ),
      clock: () => new Date(nowMs),
    }),
    metrics,
  );
}

/** BatchItemFailures as the handler emits them, one figure per invocation. */
let handedBack: number[] = [];
const metrics = {
  addMetric: (name: string, _unit: unknown, value: number) => {
    if (name === 'BatchItemFailures') handedBack.push(value);
  },
  publishStoredMetrics: () => undefined,
};

/** What the raw SNS → SQS subscription hands notify for an SNS fixture. */
function fromSns(event: SNSEvent): SQSEvent {
  return {
    Records: event.Records.map((r, n) => ({
      messageId: `m-${n}`,
      receiptHandle: `h-${n}`,
      body: r.Sns.Message,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'sns',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:notify',
      awsRegion: 'eu-west-1',
    })),
  };
}

const verdictEvent = () => fromSns(loadFixture('sns/verdict-event'));
const ID = '9265367ca05d7cf7e63327161d68fb30';

describe('notify: SNS → SQS → Slack', () => {
  it('rides out 429 (Retry-After) and 500, and delivers exactly one message', async () => {
    slack.script = [
      { status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' },
      { status: 500, body: 'rollup_error' },
      { status: 200, body: 'ok' },
    ];
    const response = await lambda()(verdictEvent());
    expect(response).toEqual({ batchItemFailures: [] });
    expect(slack.problems).toEqual([]);
    expect(slack.requests).toBe(3);
    expect(slack.delivered).toHaveLength(1);
    expect(waits).toContain(1_000); // the Retry-After of the 429
    const message = slack.delivered[0];
    expect(message?.blocks[0]).toMatchObject({
      type: 'header',
      text: { type: 'plain_text', text: ':no_entry: PASS → FAIL  prod/api:1.4.2' },
    });
    expect(JSON.stringify(message)).toContain('CVE-2024-37371');
    expect(JSON.stringify(message)).toContain('fixed in 0:1.20.1-2+deb12u2');
  });

  it('sends nothing twice when SNS delivers the same event again', async () => {
    const event = verdictEvent();
    await lambda()(event);
    const again = await lambda()(event);
    expect(again).toEqual({ batchItemFailures: [] });
    expect(slack.requests).toBe(1);
    expect(slack.delivered).toHaveLength(1);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('hands a permanent 4xx back (to reach the DLQ) and leaves the event deliverable', async () => {
    slack.script = [{ status: 404, body: 'channel_not_found' }];
    const changes = queue.visibilityChanges.length;
    const response = await lambda()(verdictEvent());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-0' }] });
    // Not a throttle: it comes back after the queue's own visibility timeout.
    expect(queue.visibilityChanges).toHaveLength(changes);
    expect(slack.requests).toBe(1);
    const marker = await rawItem(dynamo, table, 'EVENT#9265367ca05d7cf7e63327161d68fb30', 'SLACK');
    expect(marker).toBeUndefined();
    // After the webhook is fixed, a redrive from the DLQ delivers.
    await lambda()(verdictEvent());
    expect(slack.delivered).toHaveLength(1);
  });

  it('hands back a message that is not ours, for the DLQ', async () => {
    const event = verdictEvent();
    const record = event.Records[0];
    if (record) record.body = '{"hello":"world"}';
    await expect(lambda()(event)).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: 'm-0' }],
    });
    expect(slack.requests).toBe(0);
  });

  it('rejects an event that is not from SQS', async () => {
    await expect(lambda()(loadFixture('sns/verdict-event'))).rejects.toMatchObject({
      code: 'INVALID_EVENT',
    });
  });

  it('defers a message by a Retry-After of 120 s through the queue, then delivers it once', async () => {
    const body = verdictEvent().Records[0]?.body ?? '';
    const digest = fromSns(loadFixture('sns/daily-digest')).Records[0]?.body ?? '';
    queue.send(body);
    queue.send(digest);
    slack.script = [{ status: 429, headers: { 'retry-after': '120' }, body: 'rate_limited' }];
    const notify = lambda();
    const changes = queue.visibilityChanges.length;

    const first = queue.receive();
    expect(first.Records).toHaveLength(2);
    const response = await notify(first);
    queue.settle(first, response.batchItemFailures);
    // One request: the 429 ended the attempt; the rest of the batch was not even tried.
    expect(slack.requests).toBe(1);
    expect(waits).toEqual([]);
    expect(response.batchItemFailures).toHaveLength(2);
    expect(queue.visibilityChanges.slice(changes)).toEqual([120, 120]);
    expect(handedBack).toEqual([2]);
    expect(await rawItem(dynamo, table, `EVENT#${ID}`, 'SLACK')).toBeUndefined();

    nowMs += 119_000;
    expect(queue.receive().Records).toHaveLength(0);
    nowMs += 1_000;
    const second = queue.receive();
    expect(second.Records).toHaveLength(2);
    const delivered = await notify(second);
    queue.settle(second, delivered.batchItemFailures);
    expect(delivered).toEqual({ batchItemFailures: [] });
    expect(handedBack).toEqual([2, 0]);
    expect(queue.depth).toBe(0);
    expect(slack.requests).toBe(3);
    expect(slack.delivered).toHaveLength(2);

    // SNS delivers the transition again: the marker holds, Slack sees nothing more.
    queue.send(body);
    const again = queue.receive();
    queue.settle(again, (await notify(again)).batchItemFailures);
    expect(slack.requests).toBe(3);
    expect(queue.depth).toBe(0);
  });
});

describe('daily digest: verdict table → SNS → Slack', () => {
  it('summarises the table and renders it for Slack', async () => {
    const store = new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents });
    for (let n = 1; n <= 12; n++) {
      const key = keyOf('prod/api', n);
      const tags = [`1.${n}`];
      await store.write(
        planWrite(
          undefined,
          draftOf(key, { tags, verdict: 'PASS', evaluatedAt: '2026-11-20T00:00:00.000Z' }),
        ),
      );
      if (n <= 3) {
        const previous = await store.get(key);
        await store.write(
          planWrite(
            previous,
            draftOf(key, {
              tags,
              verdict: 'FAIL',
              maxSeverity: 'HIGH',
              evaluatedAt: '2026-11-23T01:00:00.000Z',
            }),
          ),
        );
      }
    }
    sns.reset();
    sns.on(PublishCommand).resolves({});
    const digest = await publishDailyDigest({
      verdicts: new DynamoDbVerdictCatalog({
        tableName: table,
        client: dynamo.documents,
        segments: 2,
      }),
      publisher: new SnsPublisher(
        'arn:aws:sns:eu-west-1:123456789012:verdict-events',
        new SNSClient({ region: 'eu-west-1' }),
      ),
      now: new Date('2026-11-23T03:00:00.000Z'),
      run: { imagesPlanned: 12 },
    });
    expect(digest.counts).toMatchObject({ PASS: 9, FAIL: 3 });
    expect(digest.newFailCount).toBe(3);
    const publish = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(publish?.MessageAttributes?.type).toEqual({ DataType: 'String', StringValue: 'digest' });

    // What SNS hands to notify for that publish.
    const event = loadFixture('sns/daily-digest') as SNSEvent;
    const record = event.Records[0];
    if (!record) throw new Error('fixture has no record');
    record.Sns.Message = publish?.Message ?? '';
    record.Sns.Subject = publish?.Subject ?? '';
    const response = await lambda()(fromSns(event));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await rawItem(dynamo, table, 'EVENT#digest-2026-11-23', 'SLACK')).toMatchObject({
      status: { S: 'COMPLETED' },
    });
    expect(slack.problems).toEqual([]);
    const text = JSON.stringify(slack.delivered[0]);
    expect(text).toContain('registry-watcher daily digest 2026-11-23');
    expect(text).toContain('*New FAILs in the last 24 h: 3*');
    expect(text).toContain('imagesPlanned: 12');
  });
});
