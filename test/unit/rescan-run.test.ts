import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { DAY_MS } from '../../shared/domain/duration';
import { UpstreamError } from '../../shared/domain/errors';
import { evaluate } from '../../shared/domain/evaluate';
import type { ImageFacts } from '../../shared/domain/image-facts';
import { type ImageKey, imageId } from '../../shared/domain/image-ref';
import { emptyTotals } from '../../shared/domain/rescan';
import { draftFrom, planWrite } from '../../shared/domain/verdict-record';
import type {
  PlannedRequest,
  RepositorySource,
  ScanStart,
  ScanStarter,
} from '../../shared/ports/rescan';
import { evaluateImage } from '../../shared/services/evaluate-image';
import { planRescan, type RescanPlannerOptions } from '../../shared/services/rescan-planner';
import { type RescanRunOptions, runRescan } from '../../shared/services/rescan-run';
import { completeScan, keyOf, policyOf, REGISTRY } from '../support/builders';
import { MemoryCheckpoints, MemoryVerdicts } from '../support/memory-verdicts';

const NOW = new Date('2026-11-23T02:00:00Z');
const policy = policyOf();

/** A registry in memory whose repositories can be listed, fail, or be gone. */
class World extends MemoryRegistry implements RepositorySource {
  readonly failing = new Set<string>();
  readonly gone = new Set<string>();
  readonly repos = new Set<string>();

  add(key: ImageKey, scannedDaysAgo = 0): this {
    this.repos.add(key.repository);
    const completedAt = new Date(NOW.getTime() - scannedDaysAgo * DAY_MS).toISOString();
    return this.put(
      { key, tags: ['1.0'], mediaType: 'application/vnd.oci.image.manifest.v1+json' },
      completeScan([], completedAt),
    );
  }

  override async *listImages(registry: string, repository: string): AsyncIterable<ImageFacts[]> {
    if (this.failing.has(repository))
      throw new UpstreamError('UPSTREAM_THROTTLED', 'throttled after retries');
    if (this.gone.has(repository)) {
      throw new UpstreamError('UPSTREAM_FAILURE', 'gone', {
        cause: Object.assign(new Error('no repo'), { name: 'RepositoryNotFoundException' }),
      });
    }
    yield* super.listImages(registry, repository);
  }

  async *listRepositories(): AsyncIterable<string[]> {
    yield [...this.repos].filter((r) => !this.gone.has(r));
  }

  async indexChildren() {
    return new Map();
  }
}

class Queue {
  readonly sent: PlannedRequest[] = [];
  async send(requests: PlannedRequest[]) {
    this.sent.push(...requests);
  }
}

class Scans implements ScanStarter {
  readonly asked: string[] = [];
  constructor(private readonly answer: (n: number) => ScanStart = () => 'started') {}
  async startScan(key: ImageKey) {
    this.asked.push(key.digest);
    return { result: this.answer(this.asked.length) };
  }
}

async function remember(store: MemoryVerdicts, key: ImageKey, scannedDaysAgo = 0) {
  const scan = completeScan([], new Date(NOW.getTime() - scannedDaysAgo * DAY_MS).toISOString());
  const evaluation = evaluate({ image: key, scan, policy, now: NOW });
  const { findings: _, ...summary } = scan;
  await store.write(
    planWrite(
      undefined,
      draftFrom({ key, tags: ['1.0'] }, summary, evaluation, undefined, undefined),
    ),
  );
}

function setup(extra: Partial<RescanPlannerOptions> = {}) {
  const world = new World();
  const store = new MemoryVerdicts();
  const queue = new Queue();
  const options: RescanPlannerOptions = {
    catalog: store,
    repositories: world,
    images: world,
    queue,
    policy,
    registries: [REGISTRY],
    scanning: 'basic',
    clock: () => NOW,
    ...extra,
  };
  return { world, store, queue, options };
}

const plannedIds = (queue: Queue) => queue.sent.map((r) => `${r.trigger} ${r.key.repository}`);

/** The evaluate function draining the queue: the one writer of verdicts. */
async function evaluateSent(world: World, store: MemoryVerdicts, queue: Queue) {
  for (const request of queue.sent) {
    await evaluateImage(request, {
      images: world,
      findings: world,
      store,
      policy,
      clock: () => NOW,
    });
  }
}

describe('planRescan', () => {
  it('leaves a repository it cannot list as it is: nothing planned, nothing deleted', async () => {
    const { world, store, queue, options } = setup();
    world.add(keyOf('a/ok', 1));
    await remember(store, keyOf('a/ok', 1));
    await remember(store, keyOf('b/flaky', 2));
    world.repos.add('b/flaky');
    world.failing.add('b/flaky');
    const result = await planRescan({ totals: emptyTotals() }, options);
    expect(result).toMatchObject({
      finished: true,
      totals: { repositoryErrors: 1, deleted: 0, planned: 1 },
    });
    await evaluateSent(world, store, queue);
    expect((await store.get(keyOf('b/flaky', 2)))?.deletedAt).toBeUndefined();
    expect(plannedIds(queue)).toEqual(['rescan a/ok']);
  });

  it('marks the images of a deleted repository deleted, after checking each once more', async () => {
    const { world, store, queue, options } = setup();
    await remember(store, keyOf('old/app', 1));
    world.repos.add('old/app');
    world.gone.add('old/app');
    const result = await planRescan({ totals: emptyTotals() }, options);
    expect(result.totals).toMatchObject({ deleted: 1, planned: 0 });
    expect(world.calls.describeImage).toBe(1);
    // The planner writes no verdict: it asks evaluate, which records the deletion.
    expect(plannedIds(queue)).toEqual(['delete old/app']);
    expect((await store.get(keyOf('old/app', 1)))?.deletedAt).toBeUndefined();
    await evaluateSent(world, store, queue);
    const record = await store.get(keyOf('old/app', 1));
    expect(record).toMatchObject({ deletedAt: NOW.toISOString(), previousVerdict: 'PASS' });
  });

  it('rescans an image the listing missed but that still exists, instead of deleting it', async () => {
    const { world, store, queue, options } = setup();
    world.add(keyOf('a/app', 1));
    await remember(store, keyOf('a/app', 1));
    // The listing leaves it out (eventual consistency); DescribeImages by digest finds it.
    const listing = world.listImages.bind(world);
    world.listImages = async function* (registry, repository) {
      for await (const page of listing(registry, repository)) yield page.filter(() => false);
    };
    const result = await planRescan({ totals: emptyTotals() }, options);
    expect(result.totals).toMatchObject({ deleted: 0, rescans: 1, planned: 1 });
    await evaluateSent(world, store, queue);
    expect((await store.get(keyOf('a/app', 1)))?.deletedAt).toBeUndefined();
    expect(plannedIds(queue)).toEqual(['rescan a/app']);
  });

  it('stops starting scans once ECR refuses many in a row (the daily quota is spent)', async () => {
    const scans = new Scans(() => 'not-possible');
    const { world, store, queue, options } = setup({ scans, quotaStreak: 5 });
    for (let n = 1; n <= 20; n++) {
      world.add(keyOf('a/app', n), 10);
      await remember(store, keyOf('a/app', n), 10);
    }
    const result = await planRescan({ totals: emptyTotals() }, { ...options, chunkSize: 4 });
    expect(scans.asked.length).toBeLessThan(10);
    expect(result.totals).toMatchObject({ scansNotPossible: scans.asked.length, planned: 20 });
    // Every image is still evaluated, none held back for a scan that never started.
    expect(queue.sent.every((r) => r.delaySeconds === undefined)).toBe(true);
  });

  it('starts at most maxScansPerRun scans, and holds back the evaluation of scanned images', async () => {
    const scans = new Scans();
    const { world, store, queue, options } = setup({
      scans,
      maxScansPerRun: 3,
      scanSettleSeconds: 120,
    });
    for (let n = 1; n <= 6; n++) {
      world.add(keyOf('a/app', n), 10);
      await remember(store, keyOf('a/app', n), 10);
    }
    const result = await planRescan({ totals: { ...emptyTotals(), scansStarted: 1 } }, options);
    expect(scans.asked).toHaveLength(2);
    expect(result.totals.scansStarted).toBe(3);
    expect(queue.sent.filter((r) => r.delaySeconds === 120)).toHaveLength(2);
  });

  it('plans and counts in a dry run, but sends, scans and deletes nothing', async () => {
    const scans = new Scans();
    const { world, store, queue, options } = setup({ scans, dryRun: true });
    world.add(keyOf('a/app', 1), 10);
    world.add(keyOf('a/app', 2));
    await remember(store, keyOf('a/app', 1), 10);
    await remember(store, keyOf('a/app', 3));
    const result = await planRescan({ totals: emptyTotals() }, options);
    expect(result.totals).toMatchObject({
      planned: 2,
      missing: 1,
      rescans: 1,
      deleted: 1,
      scansStarted: 2,
    });
    expect(queue.sent).toEqual([]);
    expect(scans.asked).toEqual([]);
    expect((await store.get(keyOf('a/app', 3)))?.deletedAt).toBeUndefined();
  });

  it('leaves images of registries it does not own to their own planner', async () => {
    const { store, queue, options } = setup();
    await remember(store, {
      registry: '210987654321.dkr.ecr.us-east-2.amazonaws.com',
      repository: 'x/y',
      digest: keyOf('x', 1).digest,
    });
    const result = await planRescan({ totals: emptyTotals() }, options);
    expect(result.totals).toMatchObject({ repositories: 0, known: 0, planned: 0 });
    expect(queue.sent).toEqual([]);
  });
});

describe('runRescan: one run at a time, resumable, reported once', () => {
  function run(extra: Partial<RescanRunOptions> = {}) {
    const { world, store, queue, options } = setup();
    world.add(keyOf('a/app', 1));
    const checkpoints = new MemoryCheckpoints();
    const completed: string[] = [];
    const runOptions: RescanRunOptions = {
      ...options,
      checkpoints,
      owner: 'me',
      onRunComplete: async (s) => {
        completed.push(s.runId);
      },
      ...extra,
    };
    return { world, store, queue, checkpoints, completed, runOptions };
  }

  it('starts a run, completes it and reports it', async () => {
    const { checkpoints, completed, runOptions, queue } = run();
    const result = await runRescan({ kind: 'start' }, runOptions);
    expect(result).toMatchObject({ outcome: 'completed', runId: `rescan-${NOW.toISOString()}` });
    expect(completed).toEqual([result.runId]);
    expect(checkpoints.stored?.checkpoint).toMatchObject({ status: 'complete', invocations: 1 });
    expect(checkpoints.stored?.checkpoint.owner).toBeUndefined();
    expect(plannedIds(queue)).toEqual(['reconcile a/app']);
  });

  it('stays away from a run another live invocation holds', async () => {
    const { checkpoints, runOptions, queue } = run();
    await checkpoints.save(
      {
        runId: 'rescan-x',
        status: 'running',
        startedAt: NOW.toISOString(),
        updatedAt: NOW.toISOString(),
        totals: emptyTotals(),
        invocations: 1,
        owner: 'someone-else',
        leaseUntil: new Date(NOW.getTime() + 60_000).toISOString(),
      },
      0,
    );
    await expect(runRescan({ kind: 'start' }, runOptions)).resolves.toMatchObject({
      outcome: 'busy',
    });
    await expect(
      runRescan({ kind: 'continue', runId: 'rescan-x' }, runOptions),
    ).resolves.toMatchObject({
      outcome: 'busy',
    });
    expect(queue.sent).toEqual([]);
  });

  it('ignores a continuation for a run that is over or was replaced', async () => {
    const { runOptions } = run();
    await runRescan({ kind: 'start' }, runOptions);
    await expect(runRescan({ kind: 'continue', runId: 'rescan-old' }, runOptions)).resolves.toEqual(
      {
        outcome: 'stale',
        runId: 'rescan-old',
      },
    );
  });

  it('resumes an unfinished run whose lease ran out, but abandons one older than maxRunAge', async () => {
    for (const [ageHours, expected] of [
      [3, 'rescan-earlier'],
      [30, `rescan-${NOW.toISOString()}`],
    ] as const) {
      const { checkpoints, runOptions } = run();
      await checkpoints.save(
        {
          runId: 'rescan-earlier',
          status: 'running',
          startedAt: new Date(NOW.getTime() - ageHours * 3_600_000).toISOString(),
          updatedAt: NOW.toISOString(),
          totals: emptyTotals(),
          invocations: 1,
          owner: 'crashed',
          leaseUntil: new Date(NOW.getTime() - 1_000).toISOString(),
        },
        0,
      );
      await expect(runRescan({ kind: 'start' }, runOptions)).resolves.toMatchObject({
        outcome: 'completed',
        runId: expected,
      });
    }
  });

  it('reports the run again when the report failed: the retried invocation repeats it', async () => {
    let attempts = 0;
    const { checkpoints, runOptions } = run({
      onRunComplete: async () => {
        attempts += 1;
        if (attempts === 1) throw new Error('SNS unavailable');
      },
    });
    await expect(runRescan({ kind: 'start' }, runOptions)).rejects.toThrow('SNS unavailable');
    expect(checkpoints.stored?.checkpoint.status).toBe('running');
    // The retry (same request id) takes its own lease back and finishes at once.
    await expect(runRescan({ kind: 'start' }, runOptions)).resolves.toMatchObject({
      outcome: 'completed',
    });
    expect(attempts).toBe(2);
  });

  it('hands the run over with a continuation when time runs out, and never plans an image twice', async () => {
    const { world, queue, checkpoints, runOptions } = run();
    for (let n = 2; n <= 30; n++) world.add(keyOf('a/app', n));
    const continued: string[] = [];
    let sentBefore = 0;
    const options: RescanRunOptions = {
      ...runOptions,
      chunkSize: 7,
      reserveMs: 0,
      // An invocation's time is up once it has sent two chunks.
      remainingMs: () => (queue.sent.length - sentBefore >= 14 ? -1 : 60_000),
      continuation: { request: async (runId) => void continued.push(runId) },
    };
    const first = await runRescan({ kind: 'start' }, options);
    expect(first).toMatchObject({ outcome: 'continued', delta: { planned: 14 } });
    let last = first;
    while (last.outcome === 'continued') {
      sentBefore = queue.sent.length;
      last = await runRescan({ kind: 'continue', runId: continued.at(-1) ?? '' }, options);
    }
    const ids = queue.sent.map((r) => imageId(r.key));
    expect(new Set(ids).size).toBe(30);
    expect(ids).toHaveLength(30);
    expect(checkpoints.stored?.checkpoint).toMatchObject({ status: 'complete', invocations: 3 });
    expect(continued).toHaveLength(2);
  });
});
