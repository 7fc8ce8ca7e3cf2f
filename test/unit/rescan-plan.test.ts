import { DAY_MS } from '../../shared/domain/duration';
import type { ImageFacts } from '../../shared/domain/image-facts';
import {
  addTotals,
  emptyTotals,
  type IndexChildren,
  isScanDue,
  type KnownImage,
  knownImageOf,
  type PlanContext,
  type PlannedImage,
  planRepository,
  remainingAfter,
  repositoryDone,
  scanDueAfterMs,
  subtractTotals,
} from '../../shared/domain/rescan';
import type { VerdictRecord } from '../../shared/domain/verdict-record';
import { digestOf, policyOf, REGISTRY } from '../support/builders';

const NOW = new Date('2026-11-23T02:00:00Z');
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();
const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function image(n: number, extra: Partial<ImageFacts> = {}): ImageFacts {
  return {
    key: { registry: REGISTRY, repository: 'prod/api', digest: digestOf(n) },
    tags: [`v${n}`],
    mediaType: MANIFEST,
    ...extra,
  };
}

function known(n: number, extra: Partial<KnownImage> = {}): [string, KnownImage] {
  return [digestOf(n), { digest: digestOf(n), deleted: false, ...extra }];
}

function plan(
  images: ImageFacts[] | undefined,
  knownImages: [string, KnownImage][],
  ctx: Partial<PlanContext> = {},
  children: [string, IndexChildren][] = [],
): PlannedImage[] {
  return planRepository(
    { registry: REGISTRY, repository: 'prod/api', images, children: new Map(children) },
    new Map(knownImages),
    {
      policy: policyOf(),
      now: NOW,
      scanning: 'basic',
      watched: true,
      renewAheadMs: DAY_MS,
      ...ctx,
    },
  );
}

const actions = (planned: PlannedImage[]) =>
  Object.fromEntries(planned.map((p) => [p.key.digest, p.action]));

describe('planRepository: joining the registry with the verdict table', () => {
  it.each<[string, ImageFacts[] | undefined, [string, KnownImage][], Record<string, string>]>([
    ['listed and known: rescan', [image(1)], [known(1)], { [digestOf(1)]: 'rescan' }],
    [
      'listed, no verdict (push event lost): reconcile',
      [image(2)],
      [],
      { [digestOf(2)]: 'reconcile' },
    ],
    [
      'listed, verdict says deleted (same digest pushed again): reconcile',
      [image(3)],
      [known(3, { deleted: true })],
      { [digestOf(3)]: 'reconcile' },
    ],
    [
      'known, not listed: confirm the deletion',
      [],
      [known(4)],
      { [digestOf(4)]: 'confirm-deleted' },
    ],
    ['known and already deleted, not listed: nothing', [], [known(5, { deleted: true })], {}],
    [
      'repository gone: every live verdict is confirmed deleted',
      undefined,
      [known(6), known(7, { deleted: true })],
      { [digestOf(6)]: 'confirm-deleted' },
    ],
    [
      'signatures and attestations stored as images are never planned',
      [
        image(8, { tags: [`sha256-${'a'.repeat(64)}.sig`] }),
        image(9, { subjectDigest: digestOf(1), tags: [] }),
        image(10, { artifactMediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' }),
      ],
      [],
      {},
    ],
  ])('%s', (_, images, knownImages, expected) => {
    expect(actions(plan(images, knownImages, { scanning: 'enhanced' }))).toEqual(expected);
  });

  it('leaves an index’s platform and attestation manifests to the index, unless they have a verdict', () => {
    const children: [string, IndexChildren][] = [
      [
        digestOf(20),
        {
          platforms: [digestOf(21), digestOf(22)],
          all: [digestOf(21), digestOf(22), digestOf(23)],
        },
      ],
    ];
    const listed = [
      image(20, { mediaType: INDEX }),
      image(21, { tags: [] }),
      image(22, { tags: [] }),
      image(23, { tags: [] }),
    ];
    expect(actions(plan(listed, [known(22)], { scanning: 'enhanced' }, children))).toEqual({
      [digestOf(20)]: 'reconcile',
      [digestOf(22)]: 'rescan',
    });
  });

  it('reconciles nothing in a repository that is no longer watched, but keeps its verdicts current', () => {
    const planned = plan([image(30), image(31)], [known(30), known(32)], {
      watched: false,
      scanning: 'enhanced',
    });
    expect(actions(planned)).toEqual({
      [digestOf(30)]: 'rescan',
      [digestOf(32)]: 'confirm-deleted',
    });
  });

  it('orders by digest, so a cursor can resume after any image', () => {
    const planned = plan([image(9), image(3), image(7)], [known(5), known(3)]);
    const digests = planned.map((p) => p.key.digest);
    expect(digests).toEqual([...digests].sort());
    expect(digests).toHaveLength(4);
  });
});

describe('scan targets (basic scanning)', () => {
  const targets = (
    facts: ImageFacts,
    k: Partial<KnownImage> | undefined,
    ctx: Partial<PlanContext> = {},
  ) => plan([facts], k ? [known(1, k)] : [], ctx)[0]?.scanTargets;

  it.each<[string, Partial<ImageFacts>, Partial<KnownImage> | undefined, string[]]>([
    ['never scanned', {}, {}, [digestOf(1)]],
    [
      'stored scan 8 days old (maxScanAge 7d, renewed a day ahead)',
      {},
      { scanCompletedAt: hoursAgo(8 * 24) },
      [digestOf(1)],
    ],
    [
      'stored scan 6 days old: due (6d = 7d - 1d)',
      {},
      { scanCompletedAt: hoursAgo(6 * 24) },
      [digestOf(1)],
    ],
    ['stored scan 5 days old: fresh enough', {}, { scanCompletedAt: hoursAgo(5 * 24) }, []],
    [
      'stored scan old but ECR lists a newer one: the newer wins',
      { scanCompletedAt: hoursAgo(2) },
      { scanCompletedAt: hoursAgo(10 * 24) },
      [],
    ],
    ['ECR cannot scan this image type', { scanStatus: 'UNSUPPORTED_IMAGE' }, {}, []],
    ['a scan is running', { scanStatus: 'IN_PROGRESS' }, {}, []],
    ['no verdict and no scan: the reconciled image gets one', {}, undefined, [digestOf(1)]],
  ])('%s', (_, facts, k, expected) => {
    expect(targets(image(1, facts), k)).toEqual(expected);
  });

  it('enhanced scanning never starts a scan: Inspector rescans by itself', () => {
    expect(targets(image(1), {}, { scanning: 'enhanced' })).toEqual([]);
  });

  it('scans an index’s platform manifests (what ECR scans), each by its own age', () => {
    const children: [string, IndexChildren][] = [
      [
        digestOf(40),
        {
          platforms: [digestOf(41), digestOf(42)],
          all: [digestOf(41), digestOf(42), digestOf(43)],
        },
      ],
    ];
    const planned = plan(
      [
        image(40, { mediaType: INDEX }),
        image(41, { tags: [], scanCompletedAt: hoursAgo(3) }),
        image(42, { tags: [], scanCompletedAt: hoursAgo(9 * 24) }),
        image(43, { tags: [] }),
      ],
      [known(40, { scanCompletedAt: hoursAgo(9 * 24) })],
      {},
      children,
    );
    expect(planned.find((p) => p.key.digest === digestOf(40))?.scanTargets).toEqual([digestOf(42)]);
  });
});

describe('scan age thresholds', () => {
  it.each([
    ['maxScanAge: 7d', '', 6 * DAY_MS],
    ['maxScanAge: 1d', 'defaults:\n  maxScanAge: 1d\n', DAY_MS],
    ['maxScanAge: 12h (ECR allows one scan a day)', 'defaults:\n  maxScanAge: 12h\n', DAY_MS],
    ['maxScanAge: 30d', 'defaults:\n  maxScanAge: 30d\n', 29 * DAY_MS],
  ])('%s', (_, body, expected) => {
    expect(
      scanDueAfterMs(policyOf(body), { registry: REGISTRY, repository: 'prod/api' }, DAY_MS),
    ).toBe(expected);
  });

  it('follows the repository rule that applies', () => {
    const policy = policyOf('repositories:\n  - match: "prod/*"\n    maxScanAge: 3d\n');
    expect(scanDueAfterMs(policy, { registry: REGISTRY, repository: 'prod/api' }, DAY_MS)).toBe(
      2 * DAY_MS,
    );
    expect(scanDueAfterMs(policy, { registry: REGISTRY, repository: 'dev/api' }, 0)).toBe(
      7 * DAY_MS,
    );
  });

  it.each([
    ['IMAGE_ARCHIVED', false],
    ['UNSUPPORTED_IMAGE', false],
    ['IN_PROGRESS', false],
    ['SCAN_ELIGIBILITY_EXPIRED', true],
    ['COMPLETE', true],
  ])('an old scan with status %s is due for a new one: %s', (status, due) => {
    expect(isScanDue({ completedAt: hoursAgo(48), status }, DAY_MS, NOW)).toBe(due);
  });

  it('counts a scan exactly at the threshold as due', () => {
    expect(isScanDue({ completedAt: hoursAgo(24) }, DAY_MS, NOW)).toBe(true);
    expect(isScanDue({ completedAt: hoursAgo(23.9) }, DAY_MS, NOW)).toBe(false);
  });
});

describe('cursor', () => {
  const a = `${REGISTRY}/a`;
  const b = `${REGISTRY}/b`;
  const items = [1, 2, 3].map((n) => ({
    key: { registry: REGISTRY, repository: 'b', digest: digestOf(n) },
    action: 'rescan' as const,
    scanTargets: [],
  }));

  it.each<[string, Parameters<typeof repositoryDone>[0], string, boolean]>([
    ['no cursor: nothing done', undefined, a, false],
    ['an earlier repository is done', { repository: b, digest: digestOf(1) }, a, true],
    [
      'the cursor’s repository, mid-way: not done',
      { repository: b, digest: digestOf(1) },
      b,
      false,
    ],
    ['the cursor’s repository, finished', { repository: b }, b, true],
    ['a later repository: not done', { repository: a }, b, false],
  ])('%s', (_, cursor, id, done) => {
    expect(repositoryDone(cursor, id)).toBe(done);
  });

  it('resumes strictly after the last planned digest', () => {
    expect(
      remainingAfter({ repository: b, digest: digestOf(2) }, b, items).map((p) => p.key.digest),
    ).toEqual([digestOf(3)]);
    expect(remainingAfter({ repository: a }, b, items)).toHaveLength(3);
  });
});

describe('totals and known images', () => {
  it('adds and subtracts field by field', () => {
    const t = addTotals(emptyTotals(), { planned: 3, missing: 1 });
    expect(addTotals(t, { planned: 2 }).planned).toBe(5);
    expect(subtractTotals(addTotals(t, { deleted: 4 }), t)).toEqual({
      ...emptyTotals(),
      deleted: 4,
    });
  });

  it('keeps only what the join needs from a stored verdict', () => {
    const record = {
      digest: digestOf(1),
      deletedAt: hoursAgo(1),
      scan: {
        state: 'complete',
        status: 'COMPLETE',
        scanner: 'ecr-basic',
        completedAt: hoursAgo(5),
      },
    } as unknown as VerdictRecord;
    expect(knownImageOf(record)).toEqual({
      digest: digestOf(1),
      deleted: true,
      scanCompletedAt: hoursAgo(5),
      scanStatus: 'COMPLETE',
    });
  });
});
