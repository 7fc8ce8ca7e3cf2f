import { evaluate } from '../../shared/domain/evaluate';
import type { FindingsFacts } from '../../shared/domain/findings-facts';
import { factsOfScan, factsRefOf } from '../../shared/domain/findings-facts';
import { draftFrom, planWrite, type VerdictRecord } from '../../shared/domain/verdict-record';
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
const fleet = [one, two, three];
const noFacts = judged('prod/web', 4);
const gone = judged('prod/web', 5);
const ports = {
  verdicts: {
    async *pages() {
      yield [...fleet.map((f) => f.record), { ...noFacts.record, facts: [] }];
      yield [{ ...gone.record, deletedAt: NOW.toISOString() }];
    },
  },
  facts: {
    async *pages() {
      // An older scan of digest 1 that no current verdict names: never read as current.
      yield [
        {
          ...one.facts,
          completedAt: '2026-01-01T00:00:00.000Z',
          findings: [finding('CVE-9', 'CRITICAL')],
        },
      ];
      yield fleet.map((f) => f.facts);
    },
  },
};

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
