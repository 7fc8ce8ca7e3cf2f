import fc from 'fast-check';
import { stringify } from 'yaml';
import { evaluate, type PreviousEvaluation } from '../../shared/domain/evaluate';
import type { Finding, ScanFindings } from '../../shared/domain/findings';
import { parsePolicy } from '../../shared/domain/policy-yaml';
import { emptySeverityCounts, type Severity } from '../../shared/domain/severity';
import type { Evaluation, VerdictValue } from '../../shared/domain/verdict';
import { keyOf } from '../support/builders';

/**
 * Properties of the verdict that hold whatever the inputs, checked against facts the test
 * generated itself (never against the evaluator's own helpers). Every `now` is drawn here and
 * every date is relative to it, so the wall clock (and faketime) cannot change the outcome.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const RUNS = { seed: SEED, numRuns: 500 };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// Spelled out here, not imported: the order is the spec the code must meet.
const SEVERITY_ORDER: Severity[] = [
  'UNDEFINED',
  'INFORMATIONAL',
  'LOW',
  'MEDIUM',
  'HIGH',
  'CRITICAL',
];
const WORSE: VerdictValue[] = ['PASS', 'WARN', 'PENDING', 'ERROR', 'FAIL'];
const rank = (v: VerdictValue) => WORSE.indexOf(v);
const sevRank = (s: Severity) => SEVERITY_ORDER.indexOf(s);

const IDS = ['CVE-1', 'CVE-2', 'CVE-3', 'CVE-4', 'cve-4', 'GHSA-5'];
const REPOS = ['prod/api', 'dev/web'];
const SCOPES = ['prod/api', 'prod/*', 'dev/*', 'other/app'];

interface ExceptionSpec {
  id: string;
  repositories: string[];
  /** Offset of the expiry from `now`, ms (negative: already expired). */
  expiresIn: number;
}

interface World {
  now: number;
  repository: string;
  block: { severity: Severity; onlyFixable: boolean; maxCvss?: number };
  grace: Partial<Record<Severity, string>>;
  exceptions: ExceptionSpec[];
  scan: ScanFindings;
  previous?: PreviousEvaluation;
}

const severity = fc.constantFrom(...SEVERITY_ORDER);
const blockSeverity = fc.constantFrom<Severity>('LOW', 'MEDIUM', 'HIGH', 'CRITICAL');

const findingArb: fc.Arbitrary<Finding> = fc.record(
  {
    id: fc.constantFrom(...IDS),
    severity,
    cvss: fc.record({
      score: fc.integer({ min: 0, max: 100 }).map((n) => n / 10),
      version: fc.constant('3'),
    }),
    fixAvailable: fc.boolean(),
  },
  { requiredKeys: ['id', 'severity'] },
);

const exceptionArb = (ids: string[]): fc.Arbitrary<ExceptionSpec> =>
  fc.record({
    id: fc.constantFrom(...ids),
    repositories: fc.subarray(SCOPES, { minLength: 1 }),
    expiresIn: fc.integer({ min: -30 * DAY, max: 120 * DAY }),
  });

const worldArb: fc.Arbitrary<World> = fc
  .record({
    // 2020..2040: far from any fixture date, and from the machine's clock.
    now: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2040, 0, 1) }),
    repository: fc.constantFrom(...REPOS),
    block: fc.record(
      {
        severity: blockSeverity,
        onlyFixable: fc.boolean(),
        maxCvss: fc.integer({ min: 0, max: 10 }),
      },
      { requiredKeys: ['severity', 'onlyFixable'] },
    ),
    grace: fc.dictionary(
      fc.constantFrom(...SEVERITY_ORDER.slice(1)),
      fc.integer({ min: 0, max: 30 }).map((d) => `${d}d`),
      { maxKeys: 3 },
    ),
    exceptions: fc.array(exceptionArb(IDS), { maxLength: 6 }),
    state: fc.constantFrom(
      'complete',
      'complete',
      'complete',
      'complete',
      'in-progress',
      'unscanned',
    ),
    scanAgeHours: fc.integer({ min: 0, max: 300 }),
    findings: fc.array(findingArb, { maxLength: 8 }),
    previous: fc.option(
      fc.record({
        verdict: fc.constantFrom(...WORSE),
        clock: fc.dictionary(fc.constantFrom(...IDS), fc.integer({ min: 0, max: 40 })),
      }),
    ),
  })
  .map((w) => ({
    now: w.now,
    repository: w.repository,
    block: w.block,
    grace: w.grace as World['grace'],
    exceptions: w.exceptions,
    scan: scanOf(w.state, w.findings, new Date(w.now - w.scanAgeHours * HOUR)),
    previous: w.previous
      ? previousOf(
          w.previous.verdict,
          Object.fromEntries(
            Object.entries(w.previous.clock).map(([id, days]) => [
              id,
              new Date(w.now - days * DAY).toISOString(),
            ]),
          ),
        )
      : undefined,
  }));

function scanOf(state: string, findings: Finding[], completedAt: Date): ScanFindings {
  if (state === 'in-progress')
    return { state: 'in-progress', status: 'IN_PROGRESS', scanner: 'inspector', findings: [] };
  if (state === 'unscanned')
    return { state: 'unscanned', status: 'FAILED', scanner: 'inspector', findings: [] };
  return {
    state: 'complete',
    status: 'COMPLETE',
    scanner: 'inspector',
    completedAt: completedAt.toISOString(),
    findings,
  };
}

function previousOf(
  verdict: VerdictValue,
  findingClock: Record<string, string>,
): PreviousEvaluation {
  return {
    verdict,
    reasons: [],
    severityCounts: emptySeverityCounts(),
    maxSeverity: 'NONE',
    topFindings: [],
    findingClock,
  };
}

/** The world's policy, through the real parser; exception expiries relative to `base`. */
function policyOf(w: World, base = w.now) {
  const doc = {
    apiVersion: 'registry-watcher/v1',
    kind: 'Policy',
    defaults: { block: w.block, grace: w.grace, unscanned: 'deny', maxScanAge: '7d' },
    exceptions: w.exceptions.map((e) => ({
      id: e.id,
      repositories: e.repositories,
      expires: new Date(base + e.expiresIn).toISOString(),
      owner: 'owner@example.com',
      reason: 'generated',
    })),
  };
  return parsePolicy(stringify(doc), 'generated.yaml');
}

function judge(w: World, now = w.now, base = w.now): Evaluation {
  return evaluate({
    image: keyOf(w.repository, 7),
    scan: w.scan,
    policy: policyOf(w, base),
    previous: w.previous,
    now: new Date(now),
  });
}

/** The test's own reading of the policy: would this finding block, ignoring exceptions and grace? */
function blocks(f: Finding, w: World): boolean {
  if (w.block.onlyFixable && f.fixAvailable === false) return false;
  if (sevRank(f.severity) >= sevRank(w.block.severity)) return true;
  return w.block.maxCvss !== undefined && f.cvss !== undefined && f.cvss.score >= w.block.maxCvss;
}

function scopeCovers(scope: string, repository: string): boolean {
  return scope.endsWith('/*') ? repository.startsWith(scope.slice(0, -1)) : scope === repository;
}

function activeException(f: Finding, w: World, now: number): boolean {
  return w.exceptions.some(
    (e) =>
      e.id.toUpperCase() === f.id.toUpperCase() &&
      e.repositories.some((s) => scopeCovers(s, w.repository)) &&
      w.now + e.expiresIn > now,
  );
}

function appliedExceptions(e: Evaluation): Set<string> {
  return new Set(
    e.reasons.flatMap((r) =>
      r.code === 'EXCEPTION_APPLIED' && r.exception ? [r.exception.id] : [],
    ),
  );
}

function withScanFindings(w: World, findings: Finding[]): World {
  return { ...w, scan: { ...w.scan, findings } };
}

describe('verdict properties', () => {
  it('adding a blocking finding never improves a verdict', () => {
    const added = fc.record({
      pick: fc.nat(),
      at: fc.nat(),
    });
    fc.assert(
      fc.property(worldArb, added, (w, a) => {
        fc.pre(w.scan.state === 'complete');
        // At or above the threshold, so it blocks; preferably one with grace, where it is subtle.
        const eligible = SEVERITY_ORDER.filter((x) => sevRank(x) >= sevRank(w.block.severity));
        const graced = eligible.filter((x) => w.grace[x] !== undefined);
        const pool = graced.length > 0 ? graced : eligible;
        const sev = pool[a.pick % pool.length] as Severity;
        const extra: Finding = { id: 'CVE-NEW', severity: sev, fixAvailable: true };
        const findings = [...w.scan.findings];
        findings.splice(a.at % (findings.length + 1), 0, extra);
        const before = judge(w).verdict;
        const after = judge(withScanFindings(w, findings)).verdict;
        expect(rank(after)).toBeGreaterThanOrEqual(rank(before));
      }),
      RUNS,
    );
  });

  it('an exception in force never worsens a verdict', () => {
    const added = fc.record({
      pick: fc.nat(),
      repositories: fc.subarray(SCOPES, { minLength: 1 }),
      expiresIn: fc.integer({ min: 1, max: 60 * DAY }),
    });
    fc.assert(
      fc.property(worldArb, added, (w, { pick, ...rest }) => {
        // Mostly about a finding the image has: that is where an exception can matter.
        const ids = w.scan.findings.length > 0 ? w.scan.findings.map((f) => f.id) : IDS;
        const e = { ...rest, id: ids[pick % ids.length] as string };
        const before = judge(w).verdict;
        const after = judge({ ...w, exceptions: [...w.exceptions, e] }).verdict;
        expect(rank(after)).toBeLessThanOrEqual(rank(before));
      }),
      RUNS,
    );
  });

  it('PASS implies no blocking finding without an exception in force or a grace period', () => {
    let excused = 0;
    fc.assert(
      fc.property(worldArb, (w) => {
        const result = judge(w);
        if (result.verdict !== 'PASS') return;
        for (const f of w.scan.findings) {
          if (!blocks(f, w)) continue;
          excused++;
          const graced = w.grace[f.severity] !== undefined;
          expect({ finding: f, excused: activeException(f, w, w.now) || graced }).toEqual({
            finding: f,
            excused: true,
          });
        }
      }),
      { ...RUNS, numRuns: 2000 },
    );
    // Not vacuous: enough PASS verdicts carry a blocking finding that was excused.
    expect(excused).toBeGreaterThan(20);
  });

  it('the verdict does not depend on the order of findings or exceptions', () => {
    fc.assert(
      fc.property(worldArb, fc.nat(), (w, seed) => {
        const shuffled = withScanFindings(
          { ...w, exceptions: permute(w.exceptions, seed) },
          permute(w.scan.findings, seed + 1),
        );
        const a = judge(w);
        const b = judge(shuffled);
        expect(b.verdict).toBe(a.verdict);
        expect(new Set(b.reasons.map((r) => r.code))).toEqual(
          new Set(a.reasons.map((r) => r.code)),
        );
      }),
      { ...RUNS, numRuns: 1000 },
    );
  });

  it('a later now never un-expires an exception, nor improves the verdict', () => {
    fc.assert(
      fc.property(worldArb, fc.integer({ min: 0, max: 90 * DAY }), (w, later) => {
        const early = judge(w, w.now);
        const late = judge(w, w.now + later);
        for (const id of appliedExceptions(late)) expect(appliedExceptions(early)).toContain(id);
        expect(rank(late.verdict)).toBeGreaterThanOrEqual(rank(early.verdict));
      }),
      RUNS,
    );
  });
});

/** Fisher–Yates with a small seeded LCG: the order is reproducible from the seed. */
function permute<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
