import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECRClient, StartImageScanCommand } from '@aws-sdk/client-ecr';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequest,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { parse } from 'yaml';
import { RESCAN_CHECKPOINT_KEY } from '../../shared/adapters/aws/rescan-checkpoints';
import { emptyTotals } from '../../shared/domain/rescan';
import { digestOf, REGISTRY } from '../support/builders';
import { runCli } from '../support/cli';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { SimulatedEcr } from '../support/simulated-ecr';

const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/registry-watcher-evaluate';
const ENV = [
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
];

describe('registry-watcher rescan', () => {
  let dynamo: LocalDynamo;
  const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
  const sim = new SimulatedEcr(() => Date.parse('2026-11-23T02:00:00Z'));
  // Every client the command creates: ECR and SQS mocked, DynamoDB is dynalite.
  const ecr = sim.attach(ECRClient);
  const sqs = mockClient(SQSClient);
  const policy = join(mkdtempSync(join(tmpdir(), 'rescan-cli-')), 'policy.yaml');

  beforeAll(async () => {
    dynamo = await startDynalite();
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'eu-west-1',
    });
    writeFileSync(policy, 'apiVersion: registry-watcher/v1\nkind: Policy\n');
    for (let n = 1; n <= 3; n++) {
      sim.add({
        repository: 'prod/api',
        digest: digestOf(n),
        tags: [`1.${n}`],
        pushedAt: Date.parse('2026-11-10T10:00:00Z'),
        scannedAt: Date.parse('2026-11-10T10:01:00Z'),
        vulnerable: false,
      });
    }
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    ecr.restore();
    sqs.restore();
    await dynamo.stop();
  });
  beforeEach(() => {
    sqs.reset();
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchRequest) => ({
      Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })),
    }));
    ecr.resetHistory();
  });

  const checkpoint = async (table: string) =>
    (await dynamo.documents.send(new GetCommand({ TableName: table, Key: RESCAN_CHECKPOINT_KEY })))
      .Item;

  it('plans a dry run: counts what it would do, sends, scans and checkpoints nothing', async () => {
    const table = await dynamo.newTable('cli');
    const { code, out, err } = await runCli([
      'rescan',
      '--dry-run',
      '--table',
      table,
      '--policy',
      policy,
      '--registry',
      REGISTRY,
    ]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^dry run \(nothing sent, scanned or deleted\): completed/);
    expect(out).toMatch(/missing\s+3\n/);
    expect(out).toMatch(/scansStarted\s+3\n/);
    expect(sqs.calls()).toHaveLength(0);
    expect(ecr.commandCalls(StartImageScanCommand)).toHaveLength(0);
    await expect(checkpoint(table)).resolves.toBeUndefined();

    const yaml = await runCli([
      'rescan',
      '--dry-run',
      '--table',
      table,
      '--policy',
      policy,
      '--registry',
      REGISTRY,
      '-o',
      'yaml',
    ]);
    expect(yaml.code).toBe(0);
    expect(parse(yaml.out)).toMatchObject({
      outcome: 'completed',
      dryRun: true,
      totals: { missing: 3, scansStarted: 3 },
    });
  });

  it('runs the rescan against the account’s own registry, found from its repositories', async () => {
    const table = await dynamo.newTable('cli');
    const { code, out, err } = await runCli([
      'rescan',
      '--table',
      table,
      '--queue-url',
      QUEUE,
      '--policy',
      policy,
      '--region',
      'eu-west-1',
      '--json',
    ]);
    expect(code).toBe(0);
    expect(err).toContain('--json is deprecated');
    const summary = JSON.parse(out);
    expect(summary).toMatchObject({
      outcome: 'completed',
      dryRun: false,
      totals: { missing: 3, planned: 3, scansStarted: 3 },
      calls: { SendMessageBatch: { calls: 1 }, StartImageScan: { calls: 3 } },
    });
    const sent = sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input;
    expect(sent?.QueueUrl).toBe(QUEUE);
    expect(sent?.Entries?.every((e) => e.DelaySeconds === 300)).toBe(true);
    await expect(checkpoint(table)).resolves.toMatchObject({ status: 'complete' });
  });

  it('stays away from a run a Lambda invocation holds', async () => {
    const table = await dynamo.newTable('cli');
    await dynamo.documents.send(
      new PutCommand({
        TableName: table,
        Item: {
          ...RESCAN_CHECKPOINT_KEY,
          runId: 'rescan-nightly',
          status: 'running',
          startedAt: new Date().toISOString(),
          updatedAt: new Date().toISOString(),
          totals: emptyTotals(),
          invocations: 1,
          owner: 'lambda-request',
          leaseUntil: new Date(Date.now() + 600_000).toISOString(),
          version: 1,
        },
      }),
    );
    const { code, err } = await runCli([
      'rescan',
      '--table',
      table,
      '--queue-url',
      QUEUE,
      '--policy',
      policy,
      '--registry',
      REGISTRY,
    ]);
    expect(code).toBe(1);
    expect(err).toMatch(/rescan run rescan-nightly is in progress in another invocation/);
    expect(sqs.calls()).toHaveLength(0);
  });

  it.each<[string, string[], number, RegExp]>([
    [
      'no table',
      ['--queue-url', QUEUE],
      2,
      /^error: name the verdict table with --table \(or TABLE_NAME\)$/m,
    ],
    [
      'a table name DynamoDB refuses',
      ['--table', 't', '--dry-run'],
      2,
      /^error: --table t: a DynamoDB table name has 3 to 255 characters$/m,
    ],
    [
      'a queue URL that is not one',
      ['--table', 'verdicts', '--queue-url', 'evaluate'],
      2,
      /^error: --queue-url evaluate: expected a queue URL, https:\/\/sqs\./m,
    ],
    ['no queue and no --dry-run', ['--table', 'verdicts'], 2, /--queue-url .* or pass --dry-run/],
    [
      'an unknown scanning mode',
      ['--table', 'verdicts', '--dry-run', '--scanning', 'deep'],
      2,
      /basic or enhanced/,
    ],
    [
      'a registry that is not ECR',
      ['--table', 'verdicts', '--dry-run', '--registry', 'ghcr.io'],
      2,
      /--registry ghcr.io/,
    ],
    [
      'segments out of range',
      ['--table', 'verdicts', '--dry-run', '--segments', '0'],
      2,
      /1 to 64/,
    ],
    [
      'a malformed rate',
      ['--table', 'verdicts', '--dry-run', '--registry', REGISTRY, '--rates', 'Scan=lots'],
      1,
      /rate limit "Scan=lots"/,
    ],
    [
      'a scan budget that is not a whole number',
      ['--table', 'verdicts', '--dry-run', '--max-scans', '1e3'],
      2,
      /^error: --max-scans 1e3: expected a whole number from 0 to 100000$/m,
    ],
    [
      'a bad renew-ahead',
      ['--table', 'verdicts', '--dry-run', '--renew-ahead', 'soon'],
      2,
      /--renew-ahead soon/,
    ],
  ])('refuses %s, saying what to do', async (_, args, exit, message) => {
    const { code, err } = await runCli(['rescan', '--policy', policy, ...args]);
    expect(code).toBe(exit);
    expect(err).toMatch(message);
  });

  it('refuses a run without a policy file, naming the flag and the variable', async () => {
    const { code, err } = await runCli(['rescan', '--table', 'verdicts', '--dry-run']);
    expect(code).toBe(2);
    expect(err).toMatch(/^error: name the policy file with --policy \(or POLICY_FILE\)$/m);
  });

  it('names every problem at once, each by its flag', async () => {
    const { code, err } = await runCli([
      'rescan',
      '--policy',
      policy,
      '--dry-run',
      '--table',
      't',
      '--scanning',
      'deep',
      '--segments',
      'many',
    ]);
    expect(code).toBe(2);
    expect(err).toBe(
      [
        'error: --table t: a DynamoDB table name has 3 to 255 characters',
        '--scanning deep: use basic or enhanced',
        '--segments many: use 1 to 64, or auto',
        '',
      ].join('\n'),
    );
  });
});
