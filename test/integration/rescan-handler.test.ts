import { Metrics } from '@aws-lambda-powertools/metrics';
import { ECRClient } from '@aws-sdk/client-ecr';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequest,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createHandler, type PlannerContext } from '../../functions/rescan-planner/handler';
import { accountOf, settingsFromEnvironment } from '../../functions/rescan-planner/setup';
import { RESCAN_CHECKPOINT_KEY } from '../../shared/adapters/aws/rescan-checkpoints';
import { plannerSetup, type RescanSettings } from '../../shared/composition/rescan-planner';
import { ConfigError } from '../../shared/domain/errors';
import { emptyTotals } from '../../shared/domain/rescan';
import { readEnvironmentOf } from '../../shared/environment';
import { rescanEnvironment } from '../../shared/rescan-environment';
import { digestOf, policyOf, REGISTRY } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { SimulatedEcr } from '../support/simulated-ecr';
import { sqsEvent, sqsRecord } from '../support/sqs';

const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/registry-watcher-evaluate';
const CONTINUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/registry-watcher-rescan';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:registry-watcher-verdicts';
const FUNCTION = 'arn:aws:lambda:eu-west-1:123456789012:function:registry-watcher-rescan-planner';
const ENV = {
  TABLE_NAME: 'registry-watcher-verdicts',
  EVALUATE_QUEUE_URL: QUEUE,
  CONTINUATION_QUEUE_URL: CONTINUE,
  POLICY_JSON: '{"apiVersion":"registry-watcher/v1","kind":"Policy"}',
  AWS_REGION: 'eu-west-1',
};

function context(remainingMs = 900_000): PlannerContext {
  return {
    awsRequestId: `req-${Math.random()}`,
    invokedFunctionArn: FUNCTION,
    getRemainingTimeInMillis: () => remainingMs,
  };
}

describe('rescan-planner environment', () => {
  it('reads the documented variables, with conservative defaults', () => {
    const env = readEnvironmentOf(rescanEnvironment, ENV);
    expect(env).toMatchObject({
      SCANNING_MODE: 'basic',
      REGISTRIES: [],
      REPOSITORIES: ['**'],
      RATE_LIMITS: {},
      TABLE_SCAN_SEGMENTS: 'auto',
      SCAN_RENEW_AHEAD: 86_400_000,
      MAX_SCANS_PER_RUN: 50_000,
      SCAN_SETTLE_SECONDS: 300,
      RESERVE_SECONDS: 60,
    });
    const settings = settingsFromEnvironment(env, FUNCTION);
    // No REGISTRIES: this account's registry in this region.
    expect(settings.registries).toEqual([REGISTRY]);
    expect(settings.reserveMs).toBe(60_000);
  });

  it('takes registries, repository globs, rate limits and segments', () => {
    const env = readEnvironmentOf(rescanEnvironment, {
      ...ENV,
      REGISTRIES: `${REGISTRY}, 210987654321.dkr.ecr.us-east-2.amazonaws.com`,
      REPOSITORIES: 'prod/**,team-*/app',
      RATE_LIMITS: 'StartImageScan=1,DescribeImages=20/5',
      TABLE_SCAN_SEGMENTS: '4',
      SCANNING_MODE: 'enhanced',
    });
    expect(env).toMatchObject({
      REGISTRIES: [REGISTRY, '210987654321.dkr.ecr.us-east-2.amazonaws.com'],
      REPOSITORIES: ['prod/**', 'team-*/app'],
      RATE_LIMITS: {
        StartImageScan: { perSecond: 1 },
        DescribeImages: { perSecond: 20, burst: 5 },
      },
      TABLE_SCAN_SEGMENTS: 4,
      SCANNING_MODE: 'enhanced',
    });
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['no queue', { EVALUATE_QUEUE_URL: '' }, /EVALUATE_QUEUE_URL/],
    [
      'a registry that is not ECR',
      { REGISTRIES: 'ghcr.io' },
      /REGISTRIES: expected ECR registry hosts/,
    ],
    [
      'a malformed rate',
      { RATE_LIMITS: 'StartImageScan=fast' },
      /RATE_LIMITS: rate limit "StartImageScan=fast"/,
    ],
    ['a delay SQS cannot hold', { SCAN_SETTLE_SECONDS: '3600' }, /SCAN_SETTLE_SECONDS/],
  ])('names the problem: %s', (_, change, message) => {
    expect(() => readEnvironmentOf(rescanEnvironment, { ...ENV, ...change })).toThrow(ConfigError);
    expect(() => readEnvironmentOf(rescanEnvironment, { ...ENV, ...change })).toThrow(message);
  });

  it('refuses a function ARN without an account, asking for REGISTRIES', () => {
    expect(() => accountOf('not-an-arn')).toThrow(/set REGISTRIES/);
  });
});

describe('rescan-planner handler', () => {
  let dynamo: LocalDynamo;
  const sim = new SimulatedEcr(() => Date.parse('2026-11-23T02:00:00Z'));
  const ecrClient = new ECRClient({ region: 'eu-west-1' });
  const sqsClient = new SQSClient({ region: 'eu-west-1' });
  const ecr = sim.attach(ecrClient);
  const sqs = mockClient(sqsClient);
  const sns = mockClient(SNSClient);
  const emitted: string[] = [];

  beforeAll(async () => {
    dynamo = await startDynalite();
    for (let n = 1; n <= 3; n++) {
      sim.add({
        repository: 'prod/api',
        digest: digestOf(n),
        tags: [`1.${n}`],
        pushedAt: Date.parse('2026-11-22T10:00:00Z'),
        scannedAt: Date.parse('2026-11-22T10:01:00Z'),
        vulnerable: false,
      });
    }
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      emitted.push(String(chunk));
      return true;
    });
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    ecr.restore();
    sqs.restore();
    sns.restore();
    await dynamo.stop();
  });
  beforeEach(() => {
    sqs.reset();
    sns.reset();
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchRequest) => ({
      Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })),
    }));
    sqs.on(SendMessageCommand).resolves({ MessageId: 'c' });
    sns.on(PublishCommand).resolves({ MessageId: 'p' });
    emitted.length = 0;
  });

  async function handlerFor(extra: Partial<RescanSettings> = {}) {
    const settings: RescanSettings = {
      tableName: extra.tableName ?? (await dynamo.newTable('planner')),
      evaluateQueueUrl: QUEUE,
      continuationQueueUrl: CONTINUE,
      policy: policyOf(),
      scanning: 'basic',
      registries: [REGISTRY],
      repositories: ['**'],
      verdictTopicArn: TOPIC,
      clients: { ecrFor: () => ecrClient, dynamo: dynamo.client, sqs: sqsClient },
      ...extra,
    };
    return createHandler(
      () => plannerSetup(settings),
      new Metrics({ namespace: 'RegistryWatcher', serviceName: 'rescan-planner' }),
    );
  }

  const emf = () =>
    emitted
      .flatMap((line) => line.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('runs the nightly schedule’s start to completion, sends the digest and emits EMF metrics', async () => {
    const handler = await handlerFor();
    const result = await handler({ action: 'start' }, context());
    expect(result).toMatchObject({ outcome: 'completed', totals: { missing: 3, planned: 3 } });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    const digest = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(digest?.MessageAttributes?.type).toEqual({ DataType: 'String', StringValue: 'digest' });
    expect(JSON.parse(digest?.Message ?? '{}')).toMatchObject({
      kind: 'DailyDigest',
      id: expect.stringMatching(/^digest-rescan-/),
      run: { planned: 3, missing: 3, invocations: 1 },
    });
    const metrics = emf();
    expect(metrics.find((m) => 'ImagesPlanned' in m)).toMatchObject({
      ImagesPlanned: 3,
      ImagesMissingVerdict: 3,
      service: 'rescan-planner',
    });
    expect(metrics.find((m) => m.Api === 'DescribeImages')).toMatchObject({ AwsCalls: 1 });
    expect(metrics.find((m) => m.Api === 'SendMessageBatch')).toMatchObject({ AwsCalls: 1 });
  });

  it('hands over to a continuation when the invocation is nearly out of time', async () => {
    const handler = await handlerFor();
    const result = await handler({ action: 'start' }, context(30_000));
    expect(result).toMatchObject({ outcome: 'continued' });
    const message = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(message?.QueueUrl).toBe(CONTINUE);
    const { runId } = JSON.parse(message?.MessageBody ?? '{}');
    // The continuation message, as SQS delivers it to the planner.
    const next = await handler(sqsEvent([{ action: 'continue', runId }]), context());
    expect(next).toEqual({ batchItemFailures: [] });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it('fails malformed continuation messages (to the DLQ) and ignores stale ones', async () => {
    const handler = await handlerFor();
    const result = await handler(
      {
        Records: [
          sqsRecord('{not json', 'broken'),
          sqsRecord({ action: 'continue' }, 'no-run'),
          sqsRecord({ action: 'continue', runId: 'rescan-long-gone' }, 'stale'),
        ],
      },
      context(),
    );
    expect(result).toEqual({
      batchItemFailures: [{ itemIdentifier: 'broken' }, { itemIdentifier: 'no-run' }],
    });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('hands a continuation back to SQS while another invocation holds the run', async () => {
    const tableName = await dynamo.newTable('planner');
    const handler = await handlerFor({ tableName });
    const held = {
      ...RESCAN_CHECKPOINT_KEY,
      runId: 'rescan-held',
      status: 'running',
      startedAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
      totals: emptyTotals(),
      invocations: 1,
      owner: 'crashed-invocation',
      leaseUntil: new Date(Date.now() + 600_000).toISOString(),
      version: 1,
    };
    await dynamo.documents.send(new PutCommand({ TableName: tableName, Item: held }));
    const message = sqsRecord({ action: 'continue', runId: 'rescan-held' }, 'held');
    await expect(handler({ Records: [message] }, context())).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: 'held' }],
    });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    // Once the crashed invocation's lease has run out, the redelivered message resumes the run.
    const expired = { ...held, leaseUntil: new Date(Date.now() - 1_000).toISOString() };
    await dynamo.documents.send(new PutCommand({ TableName: tableName, Item: expired }));
    await expect(handler({ Records: [message] }, context())).resolves.toEqual({
      batchItemFailures: [],
    });
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });

  it('refuses an invocation that is neither the schedule nor a continuation', async () => {
    const handler = await handlerFor();
    await expect(handler({ action: 'stop' }, context())).rejects.toThrow(/"action":"start"/);
  });
});
