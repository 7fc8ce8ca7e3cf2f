import { DescribeTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  LimitExceededException,
  StartImageScanCommand,
  UnsupportedImageTypeException,
} from '@aws-sdk/client-ecr';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequest,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { loadFixture } from '../../events';
import { childrenOf, EcrRepositorySource } from '../../shared/adapters/aws/ecr-repositories';
import { EcrScanStarter } from '../../shared/adapters/aws/ecr-scans';
import { requestsFromMessageBody } from '../../shared/adapters/aws/evaluate-events';
import { SqsEvaluateQueue } from '../../shared/adapters/aws/evaluate-queue';
import { ApiCallStats, apiNameOf, pacedClient } from '../../shared/adapters/aws/paced-client';
import { SqsRescanContinuation } from '../../shared/adapters/aws/rescan-continuation';
import { UpstreamError } from '../../shared/domain/errors';
import { ApiPacer } from '../../shared/rate-limit';
import { digestOf, keyOf, REGISTRY } from '../support/builders';
import { VirtualTime } from '../support/virtual-time';

const noWait = { sleep: async () => {}, random: () => 0 };
const ecr = mockClient(ECRClient);
const sqs = mockClient(SQSClient);
const client = new ECRClient({ region: 'eu-west-1' });
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/registry-watcher-evaluate';

function awsError(name: string, extra: object = {}): Error {
  return Object.assign(new Error(`${name} (simulated)`), {
    name,
    $metadata: { httpStatusCode: 400 },
    ...extra,
  });
}

beforeEach(() => {
  ecr.reset();
  sqs.reset();
});

describe('apiNameOf: the operation a command calls', () => {
  const commands: [string, object, string][] = [
    ['DescribeImagesCommand', new DescribeImagesCommand({ repositoryName: 'a' }), 'DescribeImages'],
    [
      'StartImageScanCommand',
      new StartImageScanCommand({ repositoryName: 'a', imageId: {} }),
      'StartImageScan',
    ],
    [
      'SendMessageBatchCommand',
      new SendMessageBatchCommand({ QueueUrl: QUEUE, Entries: [] }),
      'SendMessageBatch',
    ],
    ['GetItemCommand', new GetItemCommand({ TableName: 't', Key: {} }), 'GetItem'],
    ['GetCommand (lib-dynamodb)', new GetCommand({ TableName: 't', Key: {} }), 'GetItem'],
    ['ScanCommand (lib-dynamodb)', new ScanCommand({ TableName: 't' }), 'Scan'],
    ['DescribeTableCommand', new DescribeTableCommand({ TableName: 't' }), 'DescribeTable'],
  ];
  it.each(commands)('%s', (_, command, api) => {
    expect(apiNameOf(command)).toBe(api);
  });

  it('does not depend on class names, which bundlers may rename', () => {
    class X extends DescribeImagesCommand {}
    expect(apiNameOf(new X({ repositoryName: 'a' }))).toBe('DescribeImages');
  });
});

describe('pacedClient', () => {
  it('waits for each API’s own token and counts calls and throttles', async () => {
    const time = new VirtualTime(0);
    const stats = new ApiCallStats();
    const pacer = new ApiPacer(
      { DescribeImages: { perSecond: 2 }, StartImageScan: { perSecond: 1 } },
      { clock: time.clock, sleep: time.sleep },
    );
    const paced = pacedClient(client, pacer, stats);
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [] });
    ecr.on(StartImageScanCommand).rejects(awsError('ThrottlingException'));
    const at: Record<string, number[]> = { DescribeImages: [], StartImageScan: [] };
    await time.run(async () => {
      await Promise.all([
        ...[1, 2, 3].map(() =>
          paced
            .send(new DescribeImagesCommand({ repositoryName: 'a' }))
            .then(() => at.DescribeImages?.push(time.now())),
        ),
        ...[1, 2].map(() =>
          paced
            .send(new StartImageScanCommand({ repositoryName: 'a', imageId: {} }))
            .catch(() => at.StartImageScan?.push(time.now())),
        ),
      ]);
    });
    expect(at).toEqual({ DescribeImages: [0, 500, 1000], StartImageScan: [0, 1000] });
    expect(stats.snapshot()).toEqual({
      DescribeImages: { calls: 3, throttles: 0 },
      StartImageScan: { calls: 2, throttles: 2 },
    });
    expect(stats.total()).toBe(5);
    // Everything but send is the client itself.
    expect(paced.config).toBe(client.config);
  });
});

describe('EcrScanStarter', () => {
  const starter = new EcrScanStarter({ clientFor: () => client, retry: noWait });
  const key = keyOf('prod/api', 1);

  it('starts a basic scan of the digest in the registry’s account', async () => {
    ecr.on(StartImageScanCommand).resolves({ imageScanStatus: { status: 'IN_PROGRESS' } });
    await expect(starter.startScan(key)).resolves.toEqual({ result: 'started' });
    expect(ecr.commandCalls(StartImageScanCommand)[0]?.args[0].input).toEqual({
      registryId: '123456789012',
      repositoryName: 'prod/api',
      imageId: { imageDigest: digestOf(1) },
    });
  });

  it('records LimitExceededException as "not possible now", without retrying it', async () => {
    ecr
      .on(StartImageScanCommand)
      .rejects(new LimitExceededException({ message: 'scan limit exceeded', $metadata: {} }));
    await expect(starter.startScan(key)).resolves.toEqual({
      result: 'not-possible',
      message: 'scan limit exceeded',
    });
    expect(ecr.commandCalls(StartImageScanCommand)).toHaveLength(1);
  });

  it('retries real throttling with backoff', async () => {
    ecr
      .on(StartImageScanCommand)
      .rejectsOnce(awsError('ThrottlingException'))
      .rejectsOnce(awsError('ThrottlingException'))
      .resolves({});
    await expect(starter.startScan(key)).resolves.toEqual({ result: 'started' });
    expect(ecr.commandCalls(StartImageScanCommand)).toHaveLength(3);
  });

  it.each<[string, Error, string]>([
    ['still throttled after 4 attempts', awsError('ThrottlingException'), 'throttled'],
    [
      'an image type ECR cannot scan',
      new UnsupportedImageTypeException({ message: 'unsupported', $metadata: {} }),
      'unsupported',
    ],
    ['an image deleted meanwhile', awsError('ImageNotFoundException'), 'not-found'],
    ['anything else', awsError('AccessDeniedException'), 'failed'],
  ])('%s', async (_, error, result) => {
    ecr.on(StartImageScanCommand).rejects(error);
    await expect(starter.startScan(key)).resolves.toMatchObject({ result });
  });
});

describe('SqsEvaluateQueue', () => {
  const time = new Date('2026-11-23T02:00:00Z');
  const queue = () =>
    new SqsEvaluateQueue({
      queueUrl: QUEUE,
      client: new SQSClient({ region: 'eu-west-1' }),
      clock: () => time,
      retry: noWait,
    });
  const requests = Array.from({ length: 23 }, (_, i) => ({
    key: keyOf('prod/api', i + 1),
    trigger: i % 2 === 0 ? ('rescan' as const) : ('reconcile' as const),
    ...(i === 0 && { delaySeconds: 5_000 }),
    ...(i === 1 && { delaySeconds: 300 }),
  }));

  it('sends evaluate requests the evaluate function reads, 10 per SendMessageBatch', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchRequest) => ({
      Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })),
      Failed: [],
    }));
    await queue().send(requests);
    const batches = sqs
      .commandCalls(SendMessageBatchCommand)
      .map((c) => c.args[0].input.Entries ?? []);
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
    const entries = batches.flat();
    const parsed = entries.flatMap((e) => requestsFromMessageBody(e.MessageBody ?? ''));
    expect(parsed.map((r) => [r.key.digest, r.trigger])).toEqual(
      requests.map((r) => [r.key.digest, r.trigger]),
    );
    expect(parsed[0]?.eventTime).toBe(time.toISOString());
    // SQS allows at most 900 s of delay.
    expect(entries.slice(0, 3).map((e) => e.DelaySeconds)).toEqual([900, 300, undefined]);
  });

  it('sends again only the entries SQS refused, until it accepts them', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .callsFakeOnce((input: SendMessageBatchRequest) => ({
        Successful: (input.Entries ?? []).slice(2).map((e) => ({ Id: e.Id })),
        Failed: (input.Entries ?? [])
          .slice(0, 2)
          .map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
      }))
      .callsFake((input: SendMessageBatchRequest) => ({
        Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })),
      }));
    await queue().send(requests.slice(0, 5));
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries);
    expect(calls.map((entries) => entries?.map((e) => e.Id))).toEqual([
      ['0', '1', '2', '3', '4'],
      ['0', '1'],
    ]);
  });

  it('fails with the reason when SQS says the message itself is wrong', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Failed: [{ Id: '0', Code: 'InvalidMessageContents', SenderFault: true, Message: 'bad' }],
    });
    const sending = queue().send(requests.slice(0, 1));
    await expect(sending).rejects.toThrow(UpstreamError);
    await expect(queue().send(requests.slice(0, 1))).rejects.toThrow(/InvalidMessageContents: bad/);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
  });
});

describe('EcrRepositorySource', () => {
  const source = new EcrRepositorySource({ clientFor: () => client, retry: noWait });

  it('lists every repository of the registry, page by page', async () => {
    ecr
      .on(DescribeRepositoriesCommand)
      .resolvesOnce({
        repositories: [{ repositoryName: 'a' }, { repositoryName: 'b' }],
        nextToken: 't1',
      })
      .resolvesOnce({ repositories: [{ repositoryName: 'c' }] });
    const names: string[] = [];
    for await (const page of source.listRepositories(REGISTRY)) names.push(...page);
    expect(names).toEqual(['a', 'b', 'c']);
    const inputs = ecr.commandCalls(DescribeRepositoriesCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { registryId: '123456789012', maxResults: 1000 },
      { registryId: '123456789012', maxResults: 1000, nextToken: 't1' },
    ]);
  });

  it('finds the calling account’s registry from its repositories', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: [{ repositoryName: 'a', registryId: '210987654321' }],
    });
    await expect(source.defaultRegistry('us-east-2')).resolves.toBe(
      '210987654321.dkr.ecr.us-east-2.amazonaws.com',
    );
  });

  it('reads index manifests 100 at a time and names their children', async () => {
    const fixture = loadFixture('ecr/batch-get-image-index');
    const manifest = fixture.images?.[0]?.imageManifest ?? '';
    ecr.on(BatchGetImageCommand).callsFake((input) => ({
      images: (input.imageIds ?? []).map((id: { imageDigest: string }) => ({
        imageId: id,
        imageManifest: manifest,
      })),
    }));
    const digests = Array.from({ length: 150 }, (_, i) => digestOf(i + 1));
    const children = await source.indexChildren(REGISTRY, 'prod/api', digests);
    expect(
      ecr.commandCalls(BatchGetImageCommand).map((c) => c.args[0].input.imageIds?.length),
    ).toEqual([100, 50]);
    expect(children.size).toBe(150);
    expect(children.get(digestOf(1))).toEqual(childrenOf(manifest));
  });

  it('tells platform manifests (scanned by ECR) from every child (attestations too)', () => {
    const manifest = loadFixture('ecr/batch-get-image-index').images?.[0]?.imageManifest ?? '';
    const { platforms, all } = childrenOf(manifest);
    expect(platforms).toEqual([
      'sha256:1a91b3113d51f5b585abe9d9ce70c86c497c8013142e3d27e77a94562dcc722e',
      'sha256:5aa8b2318f3d68e22ea79a50e2a8458a26161861747f653a7382f3196f048260',
    ]);
    expect(all).toEqual([
      ...platforms,
      'sha256:ec5413aa42201b77990f33938aabd4eac78b71327b8946a87979c278b9e858b5',
    ]);
  });

  it('refuses a registry that is not ECR, saying what it expects', async () => {
    await expect(source.indexChildren('ghcr.io', 'a/b', [digestOf(1)])).rejects.toThrow(
      /not an ECR registry/,
    );
  });
});

describe('SqsRescanContinuation', () => {
  it('sends the run id to the planner’s own queue', async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm' });
    const continuation = new SqsRescanContinuation({
      queueUrl: `${QUEUE}-rescan`,
      client: new SQSClient({ region: 'eu-west-1' }),
      retry: noWait,
    });
    await continuation.request('rescan-2026-11-23T02:00:00.000Z');
    expect(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: `${QUEUE}-rescan`,
      MessageBody: '{"action":"continue","runId":"rescan-2026-11-23T02:00:00.000Z"}',
    });
  });
});
