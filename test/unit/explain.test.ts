import { evaluate } from '../../shared/domain/evaluate';
import { explain, standingOf } from '../../shared/domain/explain';
import type { FindingsFacts } from '../../shared/domain/findings-facts';
import { parseHistoryEntry, parseStoredVerdict } from '../../shared/domain/stored-verdict';
import { draftFrom, planWrite, type VerdictRecord } from '../../shared/domain/verdict-record';
import { completeScan, draftOf, finding, keyOf, policyOf } from '../support/builders';

const key = keyOf('prod/api', 7);
const summary = { state: 'complete', status: 'COMPLETE', scanner: 'inspector' } as const;

const POLICY = policyOf(`
defaults:
  block: { severity: HIGH }
  grace: { HIGH: 7d }
exceptions:
  - id: CVE-2024-0002
    repositories: ["prod/*"]
    expires: 2026-11-25
    owner: alice@example.com
    reason: not reachable
`);

/** A stored record as the evaluate function writes it, judged at `at`. */
function judged(at: string, findings = FINDINGS, previous?: VerdictRecord): VerdictRecord {
  const evaluation = evaluate({
    image: key,
    scan: completeScan(findings),
    policy: POLICY,
    now: new Date(at),
    previous,
  });
  return planWrite(
    previous,
    draftFrom({ key, tags: ['1.0'] }, summary, evaluation, undefined, previous),
  ).record;
}

const FINDINGS = [
  finding('CVE-2024-0001', 'CRITICAL', {
    package: { name: 'openssl', version: '3.0.1' },
    fixedIn: '3.0.9',
    fixAvailable: true,
  }),
  finding('CVE-2024-0002', 'HIGH', { package: { name: 'zlib', version: '1.2' } }),
  finding('CVE-2024-0003', 'HIGH', {
    package: { name: 'curl', version: '8.0' },
    fixAvailable: false,
  }),
  finding('CVE-2024-0004', 'LOW'),
];

describe('explain', () => {
  it('says what decided a FAIL and what to do: the fix version, the exception owner', () => {
    const record = judged('2026-11-20T00:00:00Z');
    const e = explain(key, record, [], new Date('2026-11-20T00:00:00Z'));
    expect(e).toMatchObject({ standing: 'failed', admitted: false, verdict: 'FAIL' });
    // Only what decided it: the LOW finding below `severity: HIGH` is not listed.
    expect(e.findings.map((f) => [f.id, f.role])).toEqual([
      ['CVE-2024-0001', 'blocking'],
      ['CVE-2024-0003', 'blocking'],
      ['CVE-2024-0002', 'excepted'],
    ]);
    expect(e.findingsFrom).toBe('top-findings');
    expect(e.findings[2]?.exception).toEqual({
      id: 'CVE-2024-0002',
      owner: 'alice@example.com',
      expiresAt: '2026-11-26T00:00:00.000Z',
      state: 'expiring',
    });
    expect(e.exceptions).toEqual([
      {
        id: 'CVE-2024-0002',
        owner: 'alice@example.com',
        expiresAt: '2026-11-26T00:00:00.000Z',
        state: 'expiring',
        findings: ['CVE-2024-0002'],
      },
    ]);
    expect(e.actions).toEqual([
      'CVE-2024-0001 (CRITICAL): upgrade openssl 3.0.1 to 3.0.9 and push a new image',
      'CVE-2024-0003 (HIGH): no fix yet for curl 8.0: remove the package, or ask for a policy exception (exceptions: id, owner, expiresAt)',
      'exception CVE-2024-0002 expires 2026-11-26T00:00:00.000Z: ask its owner alice@example.com to renew it, or fix CVE-2024-0002',
    ]);
    expect(e.reasons[0]?.effect).toBe('fail');
  });

  it('names the grace deadline of a finding new on an admitted digest', () => {
    const clean = judged('2026-11-20T00:00:00Z', []);
    const later = judged(
      '2026-11-21T00:00:00Z',
      [finding('CVE-2024-0009', 'HIGH', { fixedIn: '2.0', package: { name: 'x', version: '1' } })],
      clean,
    );
    const e = explain(key, later, [], new Date('2026-11-21T00:00:00Z'));
    expect(e.standing).toBe('warned');
    expect(e.deadlines).toEqual([
      { at: '2026-11-28T00:00:00.000Z', what: 'earliest remediation deadline' },
      { at: '2026-11-28T00:00:00.000Z', what: 'admitted until' },
    ]);
    expect(e.actions).toContain(
      'fix CVE-2024-0009 before 2026-11-28T00:00:00.000Z: the grace period ends then and the digest leaves the allowlist',
    );
    // Past the deadline, with no newer verdict: admission has expired.
    expect(standingOf(later, new Date('2026-11-28T00:00:00Z'))).toBe('expired');
    expect(standingOf(later, new Date('2026-11-27T23:59:59Z'))).toBe('warned');
  });

  it('tells never evaluated, deleted, pending and error apart', () => {
    const now = new Date('2026-11-23T00:00:00Z');
    expect(explain(key, undefined, [], now).standing).toBe('never-evaluated');
    const base = { ...draftOf(key, { verdict: 'PASS' }), version: 1 };
    expect(standingOf({ ...base, deletedAt: '2026-11-22T00:00:00.000Z' }, now)).toBe('deleted');
    expect(standingOf({ ...base, verdict: 'PENDING' }, now)).toBe('pending');
    expect(standingOf({ ...base, verdict: 'ERROR' }, now)).toBe('error');
    expect(standingOf({ ...base, verdict: 'FAIL' }, now)).toBe('failed');
    expect(standingOf(base, now)).toBe('admitted');
  });

  it('lists transitions newest first, the later version first within one instant', () => {
    const at = '2026-11-23T09:00:00.000Z';
    const entries = [
      parseHistoryEntry({ verdict: 'PASS', reasons: [], version: 1 }, at, 'h1'),
      parseHistoryEntry(
        { verdict: 'FAIL', previousVerdict: 'PASS', reasons: [], version: 3 },
        '2026-11-24T00:00:00.000Z',
        'h3',
      ),
      parseHistoryEntry(
        { verdict: 'PASS', previousVerdict: 'PASS', deletedAt: at, reasons: [], version: 2 },
        at,
        'h2',
      ),
    ];
    const e = explain(key, undefined, entries, new Date(at));
    expect(e.history.map((h) => h.version)).toEqual([3, 2, 1]);
  });
});

describe('explain from the stored facts', () => {
  const at = '2026-11-20T00:00:00Z';
  // 25 blocking findings: more than the 10 top findings a verdict stores.
  const many = Array.from({ length: 25 }, (_, i) =>
    finding(`CVE-2025-${String(1000 + i)}`, i < 3 ? 'CRITICAL' : 'HIGH', {
      package: { name: `pkg${i}`, version: '1.0' },
      fixedIn: `1.${i + 1}`,
      fixAvailable: true,
    }),
  );
  const facts = (findings: typeof many): FindingsFacts => ({
    key,
    scanner: 'inspector',
    completedAt: '2026-11-19T00:00:00.000Z',
    status: 'ACTIVE',
    findings,
  });

  it('lists every finding that decided the verdict, with its fix, beyond the top ten', () => {
    const scanned = [...many, finding('CVE-2024-0004', 'LOW')];
    const record = judged(at, scanned);
    expect(record.topFindings).toHaveLength(10);
    const e = explain(key, record, [], new Date(at), [facts(scanned)]);
    expect(e.findingsFrom).toBe('facts');
    expect(e.otherFindings).toBe(1);
    expect(e.findings).toHaveLength(25);
    expect(e.findings.slice(0, 4).map((f) => [f.id, f.severity, f.fixedIn, f.role])).toEqual([
      ['CVE-2025-1000', 'CRITICAL', '1.1', 'blocking'],
      ['CVE-2025-1001', 'CRITICAL', '1.2', 'blocking'],
      ['CVE-2025-1002', 'CRITICAL', '1.3', 'blocking'],
      ['CVE-2025-1003', 'HIGH', '1.4', 'blocking'],
    ]);
    expect(e.findings[24]).toMatchObject({
      id: 'CVE-2025-1024',
      package: { name: 'pkg24', version: '1.0' },
      fixedIn: '1.25',
      reasons: ['VULNERABILITY'],
      manifests: [key.digest],
    });
    expect(e.actions).toHaveLength(25);
    expect(e.actions[24]).toBe(
      'CVE-2025-1024 (HIGH): upgrade pkg24 1.0 to 1.25 and push a new image',
    );
  });

  it('gives a graced finding its deadline and an excepted one its owner', () => {
    const clean = judged(at, []);
    const later = judged(
      '2026-11-21T00:00:00Z',
      [
        finding('CVE-2024-0009', 'HIGH', { package: { name: 'x', version: '1' }, fixedIn: '2' }),
        finding('CVE-2024-0002', 'HIGH', { package: { name: 'zlib', version: '1.2' } }),
      ],
      clean,
    );
    const e = explain(key, later, [], new Date('2026-11-21T00:00:00Z'), [
      facts([
        finding('CVE-2024-0009', 'HIGH', { package: { name: 'x', version: '1' }, fixedIn: '2' }),
        finding('CVE-2024-0002', 'HIGH', { package: { name: 'zlib', version: '1.2' } }),
      ]),
    ]);
    expect(e.findings).toEqual([
      {
        id: 'CVE-2024-0009',
        severity: 'HIGH',
        package: { name: 'x', version: '1' },
        fixedIn: '2',
        role: 'grace',
        reasons: ['GRACE_PERIOD'],
        deadline: '2026-11-28T00:00:00.000Z',
        manifests: [key.digest],
      },
      {
        id: 'CVE-2024-0002',
        severity: 'HIGH',
        package: { name: 'zlib', version: '1.2' },
        role: 'excepted',
        reasons: ['EXCEPTION_APPLIED', 'EXCEPTION_EXPIRING'],
        exception: {
          id: 'CVE-2024-0002',
          owner: 'alice@example.com',
          expiresAt: '2026-11-26T00:00:00.000Z',
          state: 'expiring',
        },
        manifests: [key.digest],
      },
    ]);
  });

  it('without facts, still names every deciding id; details only for the top findings', () => {
    const record = judged(at, many);
    const e = explain(key, record, [], new Date(at));
    expect(e.findingsFrom).toBe('top-findings');
    expect(e.otherFindings).toBeUndefined();
    expect(e.findings).toHaveLength(25);
    expect(e.findings.filter((f) => f.severity === undefined)).toHaveLength(15);
    expect(e.findings[0]).toMatchObject({ id: 'CVE-2025-1000', fixedIn: '1.1' });
  });
});

describe('stored items', () => {
  it('refuses an item that is not a verdict, naming it', () => {
    expect(() => parseStoredVerdict({ verdict: 'MAYBE' }, 'verdict item IMG#x')).toThrow(
      /verdict item IMG#x is not a stored verdict: /,
    );
    expect(() => parseHistoryEntry({ verdict: 'PASS', version: 1 }, 'yesterday', 'h')).toThrow(
      /h: "yesterday" is not a time/,
    );
  });

  it('reads back what the store writes, the facts it names included', () => {
    const record = judged('2026-11-20T00:00:00Z');
    const ref = {
      digest: key.digest,
      scanner: 'inspector',
      completedAt: '2026-11-19T00:00:00.000Z',
      hash: 'ab'.repeat(16),
      count: 4,
    } as const;
    const stored = JSON.parse(JSON.stringify({ ...record, facts: [ref] }));
    expect(parseStoredVerdict(stored, 'r')).toMatchObject({
      verdict: 'FAIL',
      digest: key.digest,
      tags: ['1.0'],
      facts: [ref],
    });
  });

  it('reads facts of a scanner the domain does not enumerate, refuses a name no key can hold', () => {
    const record = judged('2026-11-20T00:00:00Z');
    const ref = {
      digest: key.digest,
      scanner: 'trivy',
      completedAt: '2026-11-19T00:00:00.000Z',
      hash: 'ab'.repeat(16),
      count: 1,
    };
    const stored = (scanner: string) =>
      JSON.parse(JSON.stringify({ ...record, facts: [{ ...ref, scanner }] }));
    expect(parseStoredVerdict(stored('trivy'), 'r').facts).toEqual([ref]);
    // Facts are keyed `F#<completedAt>#<scanner>`: a `#` or an empty name would not round-trip.
    expect(() => parseStoredVerdict(stored('a#b'), 'r')).toThrow(/facts\.0\.scanner/);
    expect(() => parseStoredVerdict(stored(''), 'r')).toThrow(/facts\.0\.scanner/);
  });
});
