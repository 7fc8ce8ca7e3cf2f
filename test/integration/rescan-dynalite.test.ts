import { ECRClient } from '@aws-sdk/client-ecr';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequest,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { EcrAdapter } from '../../shared/adapters/aws/ecr';
import {
  evaluateRequestEvent,
  requestsFromMessageBody,
} from '../../shared/adapters/aws/evaluate-events';
import {
  DynamoDbRescanCheckpoints,
  RESCAN_CHECKPOINT_KEY,
} from '../../shared/adapters/aws/rescan-checkpoints';
import { DynamoDbVerdictCatalog } from '../../shared/adapters/aws/verdict-catalog';
import { awsRescanPorts } from '../../shared/composition/rescan-ports';
import { StoreConflictError } from '../../shared/domain/errors';
import type { Trigger } from '../../shared/domain/evaluate-request';
import { imageId } from '../../shared/domain/image-ref';
import type { Policy } from '../../shared/domain/policy';
import { emptyTotals } from '../../shared/domain/rescan';
import type { VerdictRecord } from '../../shared/domain/verdict-record';
import type { RescanCheckpoint } from '../../shared/ports/rescan';
import { evaluateBatch } from '../../shared/services/evaluate-batch';
import { runRescan } from '../../shared/services/rescan-run';
import { digestOf, policyOf, REGISTRY } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { SimulatedEcr } from '../support/simulated-ecr';

const EVALUATE_QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/registry-watcher-evaluate';
/** The blocking findings of the basic findings fixture. */
const CRITICAL = 'CVE-2024-37371';
const HIGH = 'CVE-2023-44487';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

/**
 * One ECR account (simulated behind aws-sdk-client-mock), the verdict table on dynalite,
 * and the evaluate queue captured: pushes and nightly runs go through the real planner and
 * the real evaluateImage.
 */
async function world(policy: Policy) {
  let now = Date.parse('2026-11-01T00:00:00Z');
  const clock = () => new Date(now);
  const tableName = await dynamo.newTable('rescan');
  const sim = new SimulatedEcr(() => now);
  const plannerEcr = new ECRClient({ region: 'eu-west-1' });
  const sqsClient = new SQSClient({ region: 'eu-west-1' });
  const queued: string[] = [];
  const sqs = mockClient(sqsClient);
  sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchRequest) => {
    for (const e of input.Entries ?? []) queued.push(e.MessageBody ?? '');
    return { Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })) };
  });
  const mocks = [sim.attach(plannerEcr), sqs];
  const store = new DynamoDbVerdictStore({ tableName, client: dynamo.documents });
  const images = new EcrAdapter({ clientFor: () => sim.lean() });
  const evaluateBodies = async (bodies: string[]) => {
    const outcome = await evaluateBatch(
      bodies.map((body, i) => ({ id: String(i), body })),
      { images, findings: images, store, policy, clock },
      requestsFromMessageBody,
    );
    expect(outcome.failed).toEqual([]);
  };
  let invocation = 0;
  return {
    sim,
    store,
    tableName,
    at(iso: string) {
      now = Date.parse(iso);
    },
    /** An EventBridge-announced change (push, scan complete) evaluated at once. */
    async announce(digest: string, trigger: Trigger) {
      const key = { registry: REGISTRY, repository: 'prod/api', digest };
      await evaluateBodies([JSON.stringify(evaluateRequestEvent(key, trigger, clock()))]);
    },
    /** The nightly run at `iso`, then the evaluate queue drained a few minutes later. */
    async nightly(iso: string, scanning: 'basic' | 'enhanced' = 'basic') {
      now = Date.parse(iso);
      queued.length = 0;
      const { ports } = awsRescanPorts({
        tableName,
        evaluateQueueUrl: EVALUATE_QUEUE,
        scanning,
        clock,
        clients: { ecrFor: () => plannerEcr, dynamo: dynamo.client, sqs: sqsClient },
      });
      const result = await runRescan(
        { kind: 'start' },
        {
          ...ports,
          policy,
          registries: [REGISTRY],
          scanning,
          clock,
          owner: `n-${++invocation}`,
        },
      );
      now += 5 * 60_000;
      await evaluateBodies(queued);
      return result;
    },
    get: (digest: string) => store.get({ registry: REGISTRY, repository: 'prod/api', digest }),
    restore: () => {
      for (const m of mocks) m.restore();
    },
  };
}

const codes = (record: VerdictRecord | undefined) => record?.reasons.map((r) => r.code).sort();

describe('nightly verdict changes without any push (dynalite)', () => {
  it('an exception that lapsed since the last evaluation turns PASS into FAIL', async () => {
    const w = await world(
      policyOf(`exceptions:
  - id: ${CRITICAL}
    repositories: ["prod/*"]
    expires: 2026-11-22
    owner: security@acme.example
    reason: "parser never loaded"
  - id: ${HIGH}
    repositories: ["prod/*"]
    expires: 2027-06-30
    owner: security@acme.example
    reason: "HTTP/2 disabled"
`),
    );
    const digest = digestOf(1);
    w.at('2026-11-10T10:00:00Z');
    w.sim.add({
      repository: 'prod/api',
      digest,
      tags: ['1.4.2'],
      pushedAt: Date.parse('2026-11-10T10:00:00Z'),
      scannedAt: Date.parse('2026-11-10T10:01:00Z'),
      vulnerable: true,
    });
    await w.announce(digest, 'push');
    expect(await w.get(digest)).toMatchObject({ verdict: 'PASS' });

    const night = await w.nightly('2026-11-23T02:00:00Z');
    expect(night).toMatchObject({ outcome: 'completed', totals: { rescans: 1, scansStarted: 1 } });
    const record = await w.get(digest);
    expect(record).toMatchObject({ verdict: 'FAIL', previousVerdict: 'PASS' });
    expect(codes(record)).toEqual(
      expect.arrayContaining(['EXCEPTION_EXPIRED', 'VULNERABILITY', 'EXCEPTION_APPLIED']),
    );
    // The transition is in the history, as any pushed change would be.
    const history = await dynamo.documents.send(
      new QueryCommand({
        TableName: w.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :h)',
        ExpressionAttributeValues: {
          ':pk': `IMG#${imageId({ registry: REGISTRY, repository: 'prod/api', digest })}`,
          ':h': 'H#',
        },
      }),
    );
    expect(history.Items?.map((i) => i.verdict)).toEqual(['PASS', 'FAIL']);
    w.restore();
  });

  it('a grace deadline that passes turns WARN into FAIL', async () => {
    const w = await world(policyOf('defaults:\n  grace:\n    CRITICAL: 2d\n    HIGH: 2d\n'));
    const digest = digestOf(2);
    w.at('2026-11-20T10:00:00Z');
    w.sim.add({
      repository: 'prod/api',
      digest,
      tags: ['2.0.0'],
      pushedAt: Date.parse('2026-11-20T10:00:00Z'),
      scannedAt: Date.parse('2026-11-20T10:01:00Z'),
      vulnerable: false,
    });
    await w.announce(digest, 'push');
    expect(await w.get(digest)).toMatchObject({ verdict: 'PASS' });

    // A rescan the next day finds CVEs in the admitted digest: the grace period starts.
    w.at('2026-11-21T10:00:00Z');
    const image = w.sim.get('prod/api', digest);
    if (image)
      Object.assign(image, { vulnerable: true, scannedAt: Date.parse('2026-11-21T09:59:00Z') });
    await w.announce(digest, 'scan');
    expect(await w.get(digest)).toMatchObject({
      verdict: 'WARN',
      deadline: '2026-11-23T10:00:00.000Z',
    });

    await w.nightly('2026-11-22T02:00:00Z');
    expect(await w.get(digest)).toMatchObject({ verdict: 'WARN' });
    await w.nightly('2026-11-24T02:00:00Z');
    const record = await w.get(digest);
    expect(record).toMatchObject({ verdict: 'FAIL', previousVerdict: 'WARN' });
    expect(codes(record)).toContain('GRACE_EXPIRED');
    w.restore();
  });

  it('a scan grown older than maxScanAge turns PASS into WARN when no rescan is possible', async () => {
    const w = await world(policyOf());
    const digest = digestOf(5);
    w.at('2026-11-10T10:00:00Z');
    w.sim.add({
      repository: 'prod/api',
      digest,
      tags: ['3.0.0'],
      pushedAt: Date.parse('2026-11-10T10:00:00Z'),
      scannedAt: Date.parse('2026-11-10T10:01:00Z'),
      vulnerable: false,
    });
    await w.announce(digest, 'push');
    expect(await w.get(digest)).toMatchObject({ verdict: 'PASS' });
    // Enhanced scanning: the planner starts no scan, and these findings are 13 days old.
    const night = await w.nightly('2026-11-23T02:00:00Z', 'enhanced');
    expect(night.totals).toMatchObject({ rescans: 1, scansStarted: 0 });
    const record = await w.get(digest);
    expect(record).toMatchObject({ verdict: 'WARN', previousVerdict: 'PASS' });
    expect(codes(record)).toEqual(['SCAN_STALE']);
    w.restore();
  });

  it('marks an image deleted from ECR without an event deleted, and it leaves the allowlist', async () => {
    const w = await world(policyOf());
    const [kept, gone] = [digestOf(3), digestOf(4)];
    w.at('2026-11-22T10:00:00Z');
    for (const digest of [kept, gone]) {
      w.sim.add({
        repository: 'prod/api',
        digest,
        tags: [],
        pushedAt: Date.parse('2026-11-22T10:00:00Z'),
        scannedAt: Date.parse('2026-11-22T10:01:00Z'),
        vulnerable: false,
      });
      await w.announce(digest, 'push');
    }
    w.sim.remove('prod/api', gone);
    const night = await w.nightly('2026-11-23T02:00:00Z');
    expect(night.totals).toMatchObject({ deleted: 1, rescans: 1, planned: 1 });
    // Recorded by evaluate (the one writer) when it drains the queue, 5 minutes after the run.
    expect(await w.get(gone)).toMatchObject({
      deletedAt: '2026-11-23T02:05:00.000Z',
      previousVerdict: 'PASS',
    });
    const all = [];
    for (let shard = 0; shard < 8; shard++) {
      const out = await dynamo.documents.send(
        new QueryCommand({
          TableName: w.tableName,
          IndexName: 'admitted',
          KeyConditionExpression: 'admitted = :n',
          ExpressionAttributeValues: { ':n': shard },
        }),
      );
      all.push(...(out.Items ?? []).map((i) => i.digest));
    }
    expect(all).toEqual([kept]);
    w.restore();
  });
});

describe('DynamoDbVerdictCatalog (dynalite)', () => {
  it('reads every CURRENT verdict once, in parallel segments, and nothing else', async () => {
    const tableName = await dynamo.newTable('catalog');
    const store = new DynamoDbVerdictStore({ tableName, client: dynamo.documents });
    for (let n = 1; n <= 40; n++) {
      const key = { registry: REGISTRY, repository: `r${n % 4}/app`, digest: digestOf(n) };
      await store.write({
        kind: 'transition',
        expectedVersion: 0,
        record: {
          ...key,
          tags: [],
          scan: { state: 'complete', status: 'COMPLETE', scanner: 'ecr-basic' },
          verdict: 'PASS',
          reasons: [],
          severityCounts: {
            CRITICAL: 0,
            HIGH: 0,
            MEDIUM: 0,
            LOW: 0,
            INFORMATIONAL: 0,
            UNDEFINED: 0,
            UNTRIAGED: 0,
          },
          maxSeverity: 'NONE',
          topFindings: [],
          findingClock: {},
          policyHash: 'sha256:x',
          evaluatedAt: '2026-11-22T00:00:00.000Z',
          version: 1,
          transitionAt: '2026-11-22T00:00:00.000Z',
        } as unknown as VerdictRecord,
      });
    }
    await dynamo.documents.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...RESCAN_CHECKPOINT_KEY, runId: 'x', version: 1 },
      }),
    );
    for (const segments of [1, 3, 'auto'] as const) {
      const catalog = new DynamoDbVerdictCatalog({ tableName, client: dynamo.documents, segments });
      const digests: string[] = [];
      for await (const page of catalog.pages()) digests.push(...page.map((r) => r.digest));
      expect(digests.sort()).toEqual(Array.from({ length: 40 }, (_, i) => digestOf(i + 1)).sort());
    }
    await expect(
      new DynamoDbVerdictCatalog({ tableName, client: dynamo.documents }).segmentCount(),
    ).resolves.toBe(1);
  });
});

describe('DynamoDbRescanCheckpoints (dynalite)', () => {
  it('stores the run under a version lock', async () => {
    const tableName = await dynamo.newTable('checkpoint');
    const checkpoints = new DynamoDbRescanCheckpoints({ tableName, client: dynamo.documents });
    const checkpoint: RescanCheckpoint = {
      runId: 'rescan-2026-11-23T02:00:00.000Z',
      status: 'running',
      startedAt: '2026-11-23T02:00:00.000Z',
      updatedAt: '2026-11-23T02:00:00.000Z',
      cursor: { repository: `${REGISTRY}/prod/api`, digest: digestOf(7) },
      totals: { ...emptyTotals(), planned: 7 },
      invocations: 1,
      owner: 'req-1',
      leaseUntil: '2026-11-23T02:16:00.000Z',
    };
    await expect(checkpoints.load()).resolves.toBeUndefined();
    const v1 = await checkpoints.save(checkpoint, 0);
    await expect(checkpoints.load()).resolves.toEqual({ checkpoint, version: v1 });
    await expect(checkpoints.save(checkpoint, 0)).rejects.toThrow(StoreConflictError);
    const v2 = await checkpoints.save({ ...checkpoint, status: 'complete' }, v1);
    expect(v2).toBe(v1 + 1);
    await expect(checkpoints.save(checkpoint, v1)).rejects.toThrow(
      /another invocation took the run over/,
    );
  });
});
