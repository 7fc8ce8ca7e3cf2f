import { ECRClient } from '@aws-sdk/client-ecr';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequest,
  SendMessageCommand,
  type SendMessageRequest,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { EcrAdapter } from '../../shared/adapters/aws/ecr';
import { requestsFromMessageBody } from '../../shared/adapters/aws/evaluate-events';
import { awsRescanPorts, DEFAULT_RESCAN_RATES } from '../../shared/composition/rescan-ports';
import { DAY_MS } from '../../shared/domain/duration';
import { evaluate } from '../../shared/domain/evaluate';
import type { ScanFindings } from '../../shared/domain/findings';
import { imageId } from '../../shared/domain/image-ref';
import { scanDueAfterMs } from '../../shared/domain/rescan';
import { draftFrom, planWrite } from '../../shared/domain/verdict-record';
import { evaluateBatch } from '../../shared/services/evaluate-batch';
import {
  type RescanInvocation,
  type RescanRunSummary,
  runRescan,
} from '../../shared/services/rescan-run';
import { digestOf, policyOf, REGISTRY } from '../support/builders';
import { MemoryCheckpoints, MemoryVerdicts } from '../support/memory-verdicts';
import { type SimImage, SimulatedEcr } from '../support/simulated-ecr';
import { VirtualTime } from '../support/virtual-time';

const IMAGES = 10_000;
const REPOSITORIES = 50;
const SEEDED_AT = '2026-11-22T12:00:00.000Z';
const NIGHT = '2026-11-23T02:00:00.000Z';
const BUDGET_MS = 120_000; // simulated Lambda time per invocation
const policy = policyOf();
const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** 50 repositories, one over a page (1,200 images), every 100th image a multi-arch index. */
function buildAccount(time: VirtualTime): { sim: SimulatedEcr; images: SimImage[] } {
  const sim = new SimulatedEcr(time.now);
  const images: SimImage[] = [];
  const seeded = Date.parse(SEEDED_AT);
  for (let i = 0; i < IMAGES; i++) {
    const r = i < 1_200 ? 0 : 1 + (i % (REPOSITORIES - 1));
    const pushedAt = seeded - (i % 10) * DAY_MS; // scanned on push, 0 to 9 days ago
    const image: SimImage = {
      repository: `team-${String(r).padStart(2, '0')}/app`,
      digest: digestOf(i + 1),
      tags: [`1.0.${i}`],
      pushedAt,
      scannedAt: pushedAt,
      vulnerable: i % 10 === 3,
      ...(i % 100 === 50 && {
        children: [digestOf(`a${i}`), digestOf(`b${i}`), digestOf(`c${i}`)] as [
          string,
          string,
          string,
        ],
      }),
    };
    sim.add(image);
    images.push(image);
  }
  return { sim, images };
}

function sqsRecorder(client: SQSClient, time: VirtualTime) {
  const sent: string[] = [];
  const continuations: string[] = [];
  const calls: { api: string; at: number }[] = [];
  const mock = mockClient(client);
  mock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchRequest) => {
    calls.push({ api: 'SendMessageBatch', at: time.now() });
    for (const entry of input.Entries ?? []) sent.push(entry.MessageBody ?? '');
    return {
      Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })),
      Failed: [],
    };
  });
  mock.on(SendMessageCommand).callsFake((input: SendMessageRequest) => {
    calls.push({ api: 'SendMessage', at: time.now() });
    continuations.push(input.MessageBody ?? '');
    return { MessageId: `c-${continuations.length}` };
  });
  return { sent, continuations, calls, mock };
}

describe('nightly rescan of a simulated account: 10,000 images in 50 repositories', () => {
  const time = new VirtualTime(SEEDED_AT);
  const { sim, images } = buildAccount(time);
  const plannerEcr = new ECRClient({ region: 'eu-west-1' });
  // The evaluate side reads the same account through a lean client (see SimulatedEcr.lean).
  const evaluateEcr = sim.lean();
  const sqsClient = new SQSClient({ region: 'eu-west-1' });
  const mocks = [
    sim.attach(plannerEcr, {
      record: true,
      throttleEvery: { DescribeImages: 7, StartImageScan: 40 },
    }),
  ];
  const sqs = sqsRecorder(sqsClient, time);
  sim.listingShowsScans = false; // ECR's newer basic scanning: scan times only in the findings
  const verdicts = new MemoryVerdicts();
  const checkpoints = new MemoryCheckpoints();
  const evaluator = new EcrAdapter({ clientFor: () => evaluateEcr });
  const unannounced = images.filter((_, i) => i % 100 === 37);
  const deleted = images.filter((_, i) => i % 400 === 11);
  const rescannedSilently = images.filter((_, i) => i % 200 === 8); // 8 days old in the table
  const summaries: RescanRunSummary[] = [];
  const invocations: RescanInvocation[] = [];

  afterAll(() => {
    for (const m of [...mocks, sqs.mock]) m.restore();
  });

  /** Drains the queue; the judgement of each image by id (an unchanged one is not written). */
  async function evaluateAll(bodies: string[]) {
    const judged = new Map<string, string | undefined>();
    for (let i = 0; i < bodies.length; i += 10) {
      const outcome = await evaluateBatch(
        bodies.slice(i, i + 10).map((body, j) => ({ id: String(i + j), body })),
        { images: evaluator, findings: evaluator, store: verdicts, policy, clock: time.clock },
        requestsFromMessageBody,
      );
      expect(outcome.failed).toEqual([]);
      for (const r of outcome.results) judged.set(imageId(r.request.key), r.record?.evaluatedAt);
    }
    return judged;
  }

  /**
   * Yesterday's push evaluations, as the table holds them: the real evaluator on findings
   * read through the ECR adapter (one read per kind of image, 9,900 evaluations would
   * otherwise dominate the suite's time).
   */
  async function seedAnnouncedPushes(announced: SimImage[]) {
    const scans = new Map<string, ScanFindings>();
    for (const image of announced) {
      const key = { registry: REGISTRY, repository: image.repository, digest: image.digest };
      const kind = `${image.vulnerable}@${image.scannedAt}`;
      const scan = scans.get(kind) ?? (await evaluator.getFindings(key));
      scans.set(kind, scan);
      const [amd64, arm64] = image.children ?? [];
      const platforms = amd64 &&
        arm64 && [
          { digest: amd64, platform: 'linux/amd64', scan },
          { digest: arm64, platform: 'linux/arm64', scan },
        ];
      const evaluation = evaluate({
        image: key,
        ...(platforms ? { platforms } : { scan }),
        policy,
        now: time.clock(),
      });
      const { findings: _, ...summary } = scan;
      const facts = { key, tags: image.tags, mediaType: image.children ? INDEX : MANIFEST };
      await verdicts.write(
        planWrite(undefined, draftFrom(facts, summary, evaluation, undefined, undefined)),
      );
    }
  }

  beforeAll(async () => {
    await seedAnnouncedPushes(images.filter((image) => !unannounced.includes(image)));
    // Since then: deletions nobody told us about, and scans the table never heard of.
    for (const image of deleted) sim.remove(image.repository, image.digest);
    for (const image of rescannedSilently) {
      const live = sim.get(image.repository, image.digest);
      if (live) live.scannedAt = Date.parse(SEEDED_AT) + 3_600_000;
    }
    time.set(NIGHT);
    sim.calls.length = 0;

    const { ports } = awsRescanPorts({
      tableName: 'unused',
      evaluateQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/evaluate',
      continuationQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/rescan',
      scanning: 'basic',
      clock: time.clock,
      sleep: time.sleep,
      clients: { ecrFor: () => plannerEcr, sqs: sqsClient },
    });
    const invoke = async (trigger: Parameters<typeof runRescan>[0], n: number) => {
      const end = time.now() + BUDGET_MS;
      return time.run(() =>
        runRescan(trigger, {
          ...ports,
          catalog: verdicts,
          checkpoints,
          policy,
          registries: [REGISTRY],
          scanning: 'basic',
          clock: time.clock,
          remainingMs: () => end - time.now(),
          reserveMs: 20_000,
          owner: `invocation-${n}`,
          onRunComplete: async (summary) => {
            summaries.push(summary);
          },
        }),
      );
    };
    invocations.push(await invoke({ kind: 'start' }, 1));
    // Each cut-off invocation asked for a continuation; deliver them as SQS would.
    while (sqs.continuations.length >= invocations.length) {
      const { runId } = JSON.parse(sqs.continuations[invocations.length - 1] ?? '{}');
      invocations.push(await invoke({ kind: 'continue', runId }, invocations.length + 1));
    }
  }, 60_000);

  it('is cut off by the invocation deadline several times and resumes each time to completion', () => {
    expect(invocations.length).toBeGreaterThan(3);
    expect(invocations.slice(0, -1).every((i) => i.outcome === 'continued')).toBe(true);
    expect(invocations.at(-1)?.outcome).toBe('completed');
    expect(checkpoints.stored?.checkpoint).toMatchObject({
      status: 'complete',
      invocations: invocations.length,
    });
  });

  it('plans every live image exactly once in the run, however many invocations it took', () => {
    const planned = sqs.sent.flatMap((body) =>
      requestsFromMessageBody(body)
        .filter((r) => r.trigger !== 'delete')
        .map((r) => imageId(r.key)),
    );
    const live = images.filter((image) => !deleted.includes(image));
    expect(new Set(planned).size).toBe(planned.length);
    expect(new Set(planned)).toEqual(
      new Set(live.map((i) => imageId({ registry: REGISTRY, ...i }))),
    );
  });

  it('asks evaluate, once each, to record the deletions nobody announced, and writes no verdict itself', async () => {
    const requests = sqs.sent.flatMap((body) => requestsFromMessageBody(body));
    const deletions = requests.filter((r) => r.trigger === 'delete').map((r) => r.key.digest);
    expect(deletions.sort()).toEqual(deleted.map((i) => i.digest).sort());
    for (const image of deleted) {
      const key = { registry: REGISTRY, repository: image.repository, digest: image.digest };
      expect((await verdicts.get(key))?.deletedAt).toBeUndefined();
    }
  });

  it('asks for rescans of known digests and reconciles the pushes whose events were lost', () => {
    const triggers = sqs.sent.flatMap((body) => requestsFromMessageBody(body));
    const reconciled = triggers.filter((r) => r.trigger === 'reconcile').map((r) => r.key.digest);
    expect(reconciled.sort()).toEqual(unannounced.map((i) => i.digest).sort());
    const totals = summaries[0]?.totals;
    expect(totals).toMatchObject({
      repositories: REPOSITORIES,
      missing: unannounced.length,
      deleted: deleted.length,
      planned: IMAGES - deleted.length,
      repositoryErrors: 0,
      imageErrors: 0,
    });
  });

  it('starts a basic scan only where the last one is older than the policy allows', () => {
    const dueAfter = scanDueAfterMs(
      policy,
      { registry: REGISTRY, repository: 'team-00/app' },
      DAY_MS,
    );
    // The table knows the push-time scan; ECR's listing shows none, so a reconciled image,
    // unknown to the table, counts as never scanned.
    const due = images.filter(
      (i) =>
        !deleted.includes(i) &&
        (unannounced.includes(i) || Date.parse(NIGHT) - i.pushedAt >= dueAfter),
    );
    // Indexes are scanned through their two platform manifests.
    const targets = due.reduce((n, i) => n + (i.children ? 2 : 1), 0);
    const refused = rescannedSilently.filter((i) => due.includes(i)).length;
    expect(refused).toBeGreaterThan(0);
    expect(summaries[0]?.totals).toMatchObject({
      scansStarted: targets - refused,
      scansNotPossible: refused,
      scansThrottled: 0,
    });
    expect(new Set(sim.scansStarted).size).toBe(sim.scansStarted.length);
  });

  it('never calls an API faster than its configured rate (calls per simulated second)', () => {
    const perSecond = new Map<string, number>();
    for (const call of [...sim.calls, ...sqs.calls]) {
      const key = `${call.api}@${Math.floor(call.at / 1000)}`;
      perSecond.set(key, (perSecond.get(key) ?? 0) + 1);
    }
    const busiest = new Map<string, number>();
    for (const [key, n] of perSecond) {
      const api = key.split('@')[0] ?? '';
      busiest.set(api, Math.max(busiest.get(api) ?? 0, n));
    }
    expect([...busiest.keys()].sort()).toEqual([
      'BatchGetImage',
      'DescribeImages',
      'DescribeRepositories',
      'SendMessage',
      'SendMessageBatch',
      'StartImageScan',
    ]);
    for (const [api, n] of busiest) {
      const limit = DEFAULT_RESCAN_RATES[api]?.perSecond ?? 0;
      expect({ api, busiestSecond: Math.min(n, limit) }).toEqual({ api, busiestSecond: n });
    }
    // The throttled calls were retried with backoff, within the same limits.
    expect(sim.calls.filter((c) => c.api === 'StartImageScan').length).toBeGreaterThan(
      sim.scansStarted.length,
    );
  });

  it('leaves every image with a verdict once the queue is drained, deleted ones marked', async () => {
    const judged = await evaluateAll(sqs.sent);
    for (const image of images) {
      const key = { registry: REGISTRY, ...image };
      const record = await verdicts.get(key);
      expect(record).toBeDefined();
      const at = Date.parse(
        (deleted.includes(image) ? record?.deletedAt : judged.get(imageId(key))) ?? '',
      );
      expect(at).toBeGreaterThanOrEqual(Date.parse(NIGHT));
    }
    const expectedFails = images.filter((i) => i.vulnerable && !deleted.includes(i)).length;
    const fails = [...verdicts.records.values()].filter(
      (r) => r.verdict === 'FAIL' && !r.deletedAt,
    );
    expect(fails).toHaveLength(expectedFails);
  }, 60_000);

  it('reports the finished run once, for the daily digest', () => {
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ invocations: invocations.length, startedAt: NIGHT });
  });
});
