import { evaluate } from '../../shared/domain/evaluate';
import type { FindingsFacts } from '../../shared/domain/findings-facts';
import { encodeFindings, factsOfScan, factsRefOf } from '../../shared/domain/findings-facts';
import { imageId } from '../../shared/domain/image-ref';
import { draftFrom, planWrite, type VerdictRecord } from '../../shared/domain/verdict-record';
import type { FleetItem, FleetScan } from '../../shared/ports/questions';
import { searchFleet, whatIf } from '../../shared/services/fleet-questions';
import { completeScan, finding, keyOf, policyOf } from '../support/builders';

const NOW = new Date('2026-11-23T00:00:00Z');
const BASE = policyOf('defaults:\n  block: { severity: CRITICAL }\n');
const summary = { state: 'complete', status: 'COMPLETE', scanner: 'ecr-basic' } as const;

/** A record judged under BASE and the facts it names, as evaluate stores them. */
function judged(repository: string, n: number, findings = [finding('CVE-1', 'HIGH')]) {
  const key = keyOf(repository, n);
  const scan = completeScan(findings);
  const facts = factsOfScan(key, scan) as FindingsFacts;
  const e = evaluate({ image: key, scan, policy: BASE, now: NOW });
  const draft = draftFrom({ key, tags: [`v${n}`] }, summary, e, undefined, undefined);
  const record: VerdictRecord = {
    ...planWrite(undefined, draft).record,
    facts: [factsRefOf(facts)],
  };
  return { record, facts };
}

const [one, two, three] = [
  judged('prod/api', 1),
  judged('prod/api', 2, [finding('CVE-1', 'HIGH', { package: { name: 'zlib', version: '1.2' } })]),
  judged('prod/web', 3, [
    finding('CVE-2', 'LOW', { package: { name: 'zlib', version: '1.3' }, fixedIn: '1.4' }),
  ]),
];
const noFacts = judged('prod/web', 4);
const gone = judged('prod/web', 5);

/** The fleet read in memory, in the order given; counts decodes and one-by-one reads. */
function memoryFleet(pages: (VerdictRecord | FindingsFacts)[][], stored = pages.flat()) {
  const counts = { loads: 0, gets: 0, skipped: 0 };
  const isFacts = (x: VerdictRecord | FindingsFacts): x is FindingsFacts => 'findings' in x;
  const item = (x: VerdictRecord | FindingsFacts): FleetItem =>
    isFacts(x)
      ? {
          kind: 'facts',
          key: x.key,
          scanner: x.scanner,
          completedAt: x.completedAt,
          load: async (keep) => {
            counts.loads += 1;
            // As the adapter: findings its text cannot match are not decoded.
            if (keep && !keep(encodeFindings(x.findings))) {
              counts.skipped += 1;
              return { ...x, findings: [] };
            }
            return x;
          },
        }
      : { kind: 'verdict', record: x };
  const fleet: FleetScan = {
    async *pages() {
      for (const page of pages) yield page.map(item);
    },
    async facts(key, ref) {
      counts.gets += 1;
      return stored
        .filter(isFacts)
        .find(
          (f) =>
            imageId(f.key) === imageId(key) &&
            f.scanner === ref.scanner &&
            f.completedAt === ref.completedAt,
        );
    },
  };
  return { fleet, counts };
}

// An older scan of digest 1 that no current verdict names: never read as current.
const older = {
  ...one.facts,
  completedAt: '2026-01-01T00:00:00.000Z',
  findings: [finding('CVE-9', 'CRITICAL')],
};
const { fleet: ports } = memoryFleet([
  [one.record, older, one.facts, two.record, two.facts, three.record, three.facts],
  [
    { ...noFacts.record, facts: [] },
    { ...gone.record, deletedAt: NOW.toISOString() },
  ],
]);

describe('what-if', () => {
  it('replays every current verdict from its facts and groups what would change', async () => {
    const report = await whatIf(ports, policyOf('defaults:\n  block: { severity: HIGH }\n'), NOW);
    expect(report).toMatchObject({
      digests: 4,
      replayed: 3,
      notReplayable: 1,
      changed: 2,
      byTransition: [{ transition: 'PASS → FAIL', count: 2 }],
      byRepository: [{ repository: `${one.record.registry}/prod/api`, count: 2 }],
      byReason: [{ reason: 'VULNERABILITY', count: 2 }],
    });
    expect(report.changes.map((c) => c.image.slice(-1))).toEqual(['1', '2']);
  });

  it('changes nothing under the policy the verdicts were judged with', async () => {
    expect((await whatIf(ports, BASE, NOW)).changed).toBe(0);
  });
});

describe('search', () => {
  it('finds a CVE in the current facts only, with verdict and tags', async () => {
    const found = await searchFleet(ports, { kind: 'finding', id: 'cve-1' });
    expect(found).toMatchObject({ digests: 2, repositories: 1 });
    expect(found.hits.map((h) => [h.tags, h.verdict])).toEqual([
      [['v1'], 'PASS'],
      [['v2'], 'PASS'],
    ]);
    expect((await searchFleet(ports, { kind: 'finding', id: 'CVE-9' })).hits).toEqual([]);
  });

  it('decodes only the facts whose text can hold the query', async () => {
    const { fleet, counts } = memoryFleet([[one.record, one.facts, three.record, three.facts]]);
    expect((await searchFleet(fleet, { kind: 'package', name: 'zlib' })).digests).toBe(1);
    expect(counts).toMatchObject({ loads: 2, skipped: 1 });
  });

  it('finds a package at any version, or at one, with its fix', async () => {
    const any = await searchFleet(ports, { kind: 'package', name: 'zlib' });
    expect(any.hits.map((h) => h.package)).toEqual(['zlib@1.2', 'zlib@1.3']);
    const one = await searchFleet(ports, { kind: 'package', name: 'zlib', version: '1.3' });
    expect(one.hits).toEqual([
      expect.objectContaining({
        finding: 'CVE-2',
        fixedIn: '1.4',
        repository: expect.stringMatching(/prod\/web$/),
      }),
    ]);
  });
});

describe('the fleet read, in any order', () => {
  const HIGH = policyOf('defaults:\n  block: { severity: HIGH }\n');

  it('decodes only the facts a current verdict names, once each, reading none one by one', async () => {
    const { fleet, counts } = memoryFleet([
      [one.record, older],
      [one.facts, two.record, two.facts],
    ]);
    const report = await whatIf(fleet, HIGH, NOW);
    expect(report).toMatchObject({ digests: 2, replayed: 2, changed: 2 });
    expect(counts).toEqual({ loads: 2, gets: 0, skipped: 0 });
  });

  it('keeps facts that come before their verdict', async () => {
    const { fleet, counts } = memoryFleet([[two.facts, one.facts], [two.record], [one.record]]);
    const report = await whatIf(fleet, HIGH, NOW);
    expect(report).toMatchObject({ digests: 2, replayed: 2, notReplayable: 0, changed: 2 });
    expect(counts).toEqual({ loads: 2, gets: 0, skipped: 0 });
  });

  it('reads one by one, at the end, facts already dropped when a later verdict names them', async () => {
    // digest 1 is an image of its own and also named by a later record (as an index's platform).
    const later = { ...two.record, facts: [factsRefOf(one.facts)] };
    const { fleet, counts } = memoryFleet([[one.record, one.facts], [later]]);
    const found = await searchFleet(fleet, { kind: 'finding', id: 'CVE-1' });
    expect(found.hits.map((h) => [h.image.slice(-1), h.manifest.slice(-1)])).toEqual([
      ['1', '1'],
      ['2', '1'],
    ]);
    expect(counts.gets).toBe(1);
  });

  it('counts a verdict whose facts are gone as not replayable', async () => {
    const { fleet, counts } = memoryFleet([[one.record, two.record, two.facts]]);
    const report = await whatIf(fleet, HIGH, NOW);
    expect(report).toMatchObject({ digests: 2, replayed: 1, notReplayable: 1 });
    expect(counts.gets).toBe(1);
  });

  it('keeps platform facts (no verdict of their own) for every index that names them', async () => {
    const platform = (n: number, id: string) => {
      const key = keyOf('prod/multi', n);
      return factsOfScan(key, completeScan([finding(id, 'HIGH')])) as FindingsFacts;
    };
    const [amd, arm] = [platform(10, 'CVE-A'), platform(11, 'CVE-B')];
    const index = (n: number): VerdictRecord => ({
      ...judged('prod/multi', n).record,
      facts: [factsRefOf(amd), factsRefOf(arm)],
    });
    const { fleet, counts } = memoryFleet([
      [amd, index(20)],
      [arm, index(21)],
    ]);
    const found = await searchFleet(fleet, { kind: 'finding', id: 'CVE-A' });
    expect(found.hits.map((h) => [h.image.slice(-2), h.manifest.slice(-2)])).toEqual([
      ['20', '10'],
      ['21', '10'],
    ]);
    expect(counts.gets).toBe(0);
    const report = await whatIf(fleet, HIGH, NOW);
    expect(report).toMatchObject({ replayed: 2, changed: 2, notReplayable: 0 });
  });
});
