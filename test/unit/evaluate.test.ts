import { type EvaluationInput, evaluate } from '../../shared/domain/evaluate';
import { indexScan } from '../../shared/domain/judgement';
import { parseKnownExploited } from '../../shared/domain/known-exploited';
import { REASON_CODES, type ReasonCode, worstVerdict } from '../../shared/domain/verdict';
import { completeScan, finding, keyOf, policyOf, scanIn } from '../support/builders';

const NOW = new Date('2026-11-23T12:00:00.000Z');
const image = keyOf('prod/api');

function run(overrides: Partial<EvaluationInput> = {}) {
  return evaluate({ image, scan: completeScan([]), policy: policyOf(), now: NOW, ...overrides });
}

const codes = (e: ReturnType<typeof run>) => e.reasons.map((r) => r.code);
const seen = new Set<ReasonCode>();
function expectCodes(e: ReturnType<typeof run>, expected: ReasonCode[]) {
  expect(codes(e)).toEqual(expected);
  for (const c of expected) seen.add(c);
}

describe('evaluate: findings against the block rules', () => {
  it.each([
    ['no findings', [], '', 'PASS', []],
    ['LOW under the HIGH default', [finding('CVE-1', 'LOW')], '', 'PASS', []],
    ['HIGH at the threshold', [finding('CVE-1', 'HIGH')], '', 'FAIL', ['VULNERABILITY']],
    ['CRITICAL above it', [finding('CVE-1', 'CRITICAL')], '', 'FAIL', ['VULNERABILITY']],
    [
      'MEDIUM under a MEDIUM rule',
      [finding('CVE-1', 'MEDIUM')],
      'defaults: { block: { severity: MEDIUM } }',
      'FAIL',
      ['VULNERABILITY'],
    ],
    [
      'UNDEFINED never blocks by severity',
      [finding('CVE-1', 'UNDEFINED')],
      'defaults: { block: { severity: INFORMATIONAL } }',
      'PASS',
      [],
    ],
    [
      'LOW with CVSS over maxCvss',
      [finding('CVE-1', 'LOW', { cvss: { score: 9.1, version: '3' } })],
      'defaults: { block: { maxCvss: 9 } }',
      'FAIL',
      ['CVSS_LIMIT'],
    ],
    [
      'LOW with CVSS under maxCvss',
      [finding('CVE-1', 'LOW', { cvss: { score: 8.9, version: '3' } })],
      'defaults: { block: { maxCvss: 9 } }',
      'PASS',
      [],
    ],
    [
      'unfixable HIGH with onlyFixable',
      [finding('CVE-1', 'HIGH', { fixAvailable: false })],
      'defaults: { block: { onlyFixable: true } }',
      'PASS',
      ['UNFIXED_IGNORED'],
    ],
    [
      'unknown fix status counts with onlyFixable',
      [finding('CVE-1', 'HIGH')],
      'defaults: { block: { onlyFixable: true } }',
      'FAIL',
      ['VULNERABILITY'],
    ],
    [
      'fixable HIGH with onlyFixable',
      [finding('CVE-1', 'HIGH', { fixAvailable: true })],
      'defaults: { block: { onlyFixable: true } }',
      'FAIL',
      ['VULNERABILITY'],
    ],
  ] as const)('%s → %s', (_name, findings, policy, verdict, expected) => {
    const e = run({ scan: completeScan([...findings]), policy: policyOf(policy) });
    expect(e.verdict).toBe(verdict);
    expectCodes(e, [...expected]);
  });

  it('groups blocking findings into one reason that lists them', () => {
    const e = run({ scan: completeScan([finding('CVE-1', 'HIGH'), finding('CVE-2', 'CRITICAL')]) });
    expect(e.reasons).toEqual([
      {
        code: 'VULNERABILITY',
        effect: 'fail',
        message: 'findings at or above HIGH: CVE-1, CVE-2',
        findings: ['CVE-1', 'CVE-2'],
      },
    ]);
    expect(e.severityCounts).toMatchObject({ HIGH: 1, CRITICAL: 1, LOW: 0 });
    expect(e.maxSeverity).toBe('CRITICAL');
    expect(e.topFindings.map((f) => [f.id, f.blocking])).toEqual([
      ['CVE-2', true],
      ['CVE-1', true],
    ]);
  });

  it('lists blocking findings first in topFindings, at most 10', () => {
    const many = Array.from({ length: 15 }, (_, i) => finding(`CVE-L${i}`, 'LOW'));
    const e = run({ scan: completeScan([...many, finding('CVE-H', 'HIGH')]) });
    expect(e.topFindings).toHaveLength(10);
    expect(e.topFindings[0]).toMatchObject({ id: 'CVE-H', blocking: true });
  });

  it('judges the same verdict when only the verdict is asked for (what-if)', () => {
    const findings = [
      finding('CVE-1', 'CRITICAL'),
      finding('CVE-2', 'HIGH', { exploitAvailable: true }),
      finding('CVE-3', 'LOW'),
    ];
    const policy = policyOf('defaults: { block: { severity: HIGH }, grace: { HIGH: 7d } }');
    const previous = { ...run({ scan: completeScan([]) }), verdict: 'PASS' as const };
    for (const input of [
      { scan: completeScan(findings), policy },
      { scan: completeScan(findings), policy, previous },
      { scan: completeScan(findings.slice(1)), policy, previous },
    ]) {
      const full = run(input);
      const { topFindings, blocking, ...rest } = run({ ...input, verdictOnly: true });
      const { topFindings: fullTop, blocking: fullBlocking, ...fullRest } = full;
      expect(rest).toEqual(fullRest);
      expect(fullTop.length).toBeGreaterThan(0);
      expect(fullBlocking).toBeDefined();
      expect(topFindings).toEqual([]);
      expect(blocking).toBeUndefined();
    }
  });

  it('applies the first matching repository rule', () => {
    const policy = policyOf(
      'repositories:\n  - match: "prod/*"\n    block: { severity: CRITICAL }\n  - match: "**"\n    block: { severity: LOW }\n',
    );
    expect(run({ scan: completeScan([finding('CVE-1', 'HIGH')]), policy }).verdict).toBe('PASS');
    expect(
      run({ image: keyOf('dev/api'), scan: completeScan([finding('CVE-1', 'HIGH')]), policy })
        .verdict,
    ).toBe('FAIL');
  });
});

describe('evaluate: exceptions', () => {
  const exception = (scope: string, expires = '2027-01-31') =>
    policyOf(
      `exceptions:\n  - { id: cve-1, ${scope}, expires: "${expires}", owner: sec@acme.example, reason: not reachable }\n`,
    );
  const high = completeScan([finding('CVE-1', 'HIGH')]);

  it.each([
    ['repository glob', 'repositories: ["prod/*"]', 'PASS', ['EXCEPTION_APPLIED']],
    ['other repository', 'repositories: ["dev/*"]', 'FAIL', ['VULNERABILITY']],
    ['digest', `digests: ["${image.digest}"]`, 'PASS', ['EXCEPTION_APPLIED']],
    ['other digest', `digests: ["${keyOf('x', 9).digest}"]`, 'FAIL', ['VULNERABILITY']],
    [
      'both scopes must match',
      `repositories: ["prod/*"], digests: ["${keyOf('x', 9).digest}"]`,
      'FAIL',
      ['VULNERABILITY'],
    ],
  ] as const)('scoped by %s → %s', (_name, scope, verdict, expected) => {
    const e = run({ scan: high, policy: exception(scope) });
    expect(e.verdict).toBe(verdict);
    expectCodes(e, [...expected]);
  });

  it('warns when the exception expires within 7 days, and expires the admission with it', () => {
    const e = run({ scan: high, policy: exception('repositories: ["prod/api"]', '2026-11-28') });
    expect(e.verdict).toBe('WARN');
    expectCodes(e, ['EXCEPTION_APPLIED', 'EXCEPTION_EXPIRING']);
    expect(e.expiresAt).toBe('2026-11-29T00:00:00.000Z');
    expect(e.reasons[1]?.exception).toEqual({
      id: 'cve-1',
      owner: 'sec@acme.example',
      expiresAt: '2026-11-29T00:00:00.000Z',
    });
  });

  it('ignores and reports an expired exception, with no grace for the lapsed finding', () => {
    const policy = policyOf(
      'defaults: { grace: { HIGH: 7d } }\nexceptions:\n  - { id: CVE-1, repositories: ["prod/api"], expires: "2026-11-22", owner: o, reason: r }\n',
    );
    const previous = run({ scan: high, policy, now: new Date('2026-11-22T12:00:00Z') });
    expect(previous.verdict).toBe('WARN');
    const e = run({ scan: high, policy, previous });
    expect(e.verdict).toBe('FAIL');
    expectCodes(e, ['EXCEPTION_EXPIRED', 'VULNERABILITY']);
  });

  it('of two exceptions in force, applies the one lasting longest, whatever their order', () => {
    const soon =
      '{ id: CVE-1, repositories: ["prod/api"], expires: "2026-11-28", owner: a, reason: r }';
    const later =
      '{ id: CVE-1, repositories: ["prod/*"], expires: "2027-01-31", owner: b, reason: r }';
    for (const list of [
      [soon, later],
      [later, soon],
    ]) {
      const e = run({ scan: high, policy: policyOf(`exceptions: [${list.join(', ')}]\n`) });
      expect(e.verdict).toBe('PASS');
      expect(e.expiresAt).toBe('2027-02-01T00:00:00.000Z');
    }
  });

  it('does not mention exceptions for findings that would not block anyway', () => {
    const e = run({
      scan: completeScan([finding('CVE-1', 'LOW')]),
      policy: exception('repositories: ["prod/api"]'),
    });
    expectCodes(e, []);
  });
});

describe('evaluate: grace for findings on an admitted digest', () => {
  const policy = policyOf('defaults: { grace: { CRITICAL: 0d, HIGH: 7d } }');
  const admitted = run({ policy, now: new Date('2026-11-20T00:00:00Z') });

  it('starts the clock when a HIGH appears on an admitted digest: WARN until the deadline', () => {
    const e = run({ scan: completeScan([finding('CVE-1', 'HIGH')]), policy, previous: admitted });
    expect(e.verdict).toBe('WARN');
    expectCodes(e, ['GRACE_PERIOD']);
    expect(e.deadline).toBe('2026-11-30T12:00:00.000Z');
    expect(e.expiresAt).toBe(e.deadline);
    expect(e.findingClock).toEqual({ 'CVE-1': NOW.toISOString() });
    expect(e.admittedAt).toBe(admitted.admittedAt);
  });

  it('keeps the clock across evaluations and fails after the deadline', () => {
    const warned = run({
      scan: completeScan([finding('CVE-1', 'HIGH')]),
      policy,
      previous: admitted,
    });
    const rescanned = completeScan([finding('CVE-1', 'HIGH')], '2026-11-30T00:00:00Z');
    const later = run({
      scan: rescanned,
      policy,
      previous: warned,
      now: new Date('2026-11-30T12:00:00Z'),
    });
    expect(later.verdict).toBe('FAIL');
    expectCodes(later, ['GRACE_EXPIRED']);
    expect(later.deadline).toBe('2026-11-30T12:00:00.000Z');
    const after = run({
      scan: rescanned,
      policy,
      previous: later,
      now: new Date('2026-12-01T00:00:00Z'),
    });
    expect(codes(after)).toEqual(['GRACE_EXPIRED']);
  });

  it('gives CRITICAL 0d no time at all', () => {
    const e = run({
      scan: completeScan([finding('CVE-1', 'CRITICAL')]),
      policy,
      previous: admitted,
    });
    expect(e.verdict).toBe('FAIL');
    expectCodes(e, ['GRACE_EXPIRED']);
  });

  it('gives no grace to a new digest, nor to severities without a grace entry', () => {
    expect(run({ scan: completeScan([finding('CVE-1', 'HIGH')]), policy }).verdict).toBe('FAIL');
    const strict = policyOf('defaults: { grace: { CRITICAL: 1d } }');
    expect(
      codes(
        run({ scan: completeScan([finding('CVE-1', 'HIGH')]), policy: strict, previous: admitted }),
      ),
    ).toEqual(['VULNERABILITY']);
  });

  it('forgets the clock once the finding is gone', () => {
    const warned = run({
      scan: completeScan([finding('CVE-1', 'HIGH')]),
      policy,
      previous: admitted,
    });
    const fixed = run({ scan: completeScan([]), policy, previous: warned });
    expect(fixed.verdict).toBe('PASS');
    expect(fixed.findingClock).toEqual({});
  });
});

describe('evaluate: scan states', () => {
  it.each([
    ['deny', 'FAIL', 'UNSCANNED'],
    ['warn', 'WARN', 'UNSCANNED'],
    ['allow', 'PASS', 'UNSCANNED'],
  ] as const)('unscanned: %s → %s', (action, verdict, code) => {
    const e = run({
      scan: scanIn('unscanned', 'UNSUPPORTED_IMAGE', 'unsupported os'),
      policy: policyOf(`defaults: { unscanned: ${action} }`),
    });
    expect(e.verdict).toBe(verdict);
    expectCodes(e, [code]);
    expect(e.reasons[0]?.message).toContain('UNSUPPORTED_IMAGE: unsupported os');
  });

  it('is PENDING while the first scan runs', () => {
    const e = run({ scan: scanIn('in-progress', 'IN_PROGRESS') });
    expect(e.verdict).toBe('PENDING');
    expectCodes(e, ['SCAN_PENDING']);
  });

  it('keeps an admitted verdict while a rescan runs', () => {
    const previous = run({ scan: completeScan([finding('CVE-1', 'LOW')]) });
    const e = run({
      scan: scanIn('in-progress', 'IN_PROGRESS'),
      previous,
      now: new Date('2026-11-24T00:00:00Z'),
    });
    expect(e.verdict).toBe('PASS');
    expectCodes(e, ['RESCAN_PENDING']);
    expect(e.severityCounts.LOW).toBe(1);
    expect(e.evaluatedAt).toBe('2026-11-24T00:00:00.000Z');
  });

  describe('no new scan (monitoring ended) on a digest judged before', () => {
    const ended = scanIn('monitoring-ended', 'SCAN_ELIGIBILITY_EXPIRED');
    const graced = policyOf('defaults: { grace: { HIGH: 3d } }');

    it('keeps a PASS admitted as WARN, with the previous scan date and counts', () => {
      const previous = run({
        scan: completeScan([finding('CVE-1', 'LOW')], '2026-11-22T00:00:00Z'),
      });
      const e = run({ scan: ended, previous, now: new Date('2026-11-24T00:00:00Z') });
      expect(e.verdict).toBe('WARN');
      expectCodes(e, ['SCAN_MONITORING_ENDED']);
      expect(e.scannedAt).toBe('2026-11-22T00:00:00.000Z');
      expect(e.severityCounts.LOW).toBe(1);
      expect(e.topFindings.map((f) => f.id)).toEqual(['CVE-1']);
    });

    it('keeps a FAIL failing (the last judgement, not a free pass)', () => {
      const previous = run({ scan: completeScan([finding('CVE-1', 'HIGH')]) });
      const e = run({ scan: ended, previous });
      expect(e.verdict).toBe('FAIL');
      expectCodes(e, ['VULNERABILITY', 'SCAN_MONITORING_ENDED']);
    });

    it('lets maxScanAge judge the previous scan date', () => {
      const previous = run({ scan: completeScan([], '2026-11-01T00:00:00Z') });
      const e = run({ scan: ended, previous, policy: policyOf('defaults: { maxScanAge: 30d }') });
      expectCodes(e, ['SCAN_MONITORING_ENDED']);
      const later = run({
        scan: ended,
        previous,
        policy: policyOf('defaults: { maxScanAge: 30d }'),
        now: new Date('2026-12-05T00:00:00Z'),
      });
      expect(later.verdict).toBe('WARN');
      expectCodes(later, ['SCAN_MONITORING_ENDED', 'SCAN_STALE']);
      expect(later.reasons[1]?.message).toBe(
        'the last scan finished 2026-11-01T00:00:00.000Z, older than maxScanAge 30d',
      );
    });

    it('says so when the previous verdict has no scan date', () => {
      const e = run({
        scan: ended,
        previous: { verdict: 'PASS', reasons: [], findingClock: {} } as never,
      });
      expect(e.verdict).toBe('WARN');
      expectCodes(e, ['SCAN_MONITORING_ENDED', 'SCAN_STALE']);
    });

    it('a running grace deadline still runs out', () => {
      const admitted = run({ scan: completeScan([]) });
      const graceRun = run({
        scan: completeScan([finding('CVE-9', 'HIGH')]),
        previous: admitted,
        policy: graced,
      });
      expect(graceRun.verdict).toBe('WARN');
      const during = run({
        scan: ended,
        previous: graceRun,
        policy: graced,
        now: new Date('2026-11-25T12:00:00Z'),
      });
      expect(during.verdict).toBe('WARN');
      expect(during.deadline).toBe('2026-11-26T12:00:00.000Z');
      expect(during.expiresAt).toBe('2026-11-26T12:00:00.000Z');
      const after = run({
        scan: ended,
        previous: during,
        policy: graced,
        now: new Date('2026-11-27T00:00:00Z'),
      });
      expect(after.verdict).toBe('FAIL');
      expectCodes(after, ['GRACE_EXPIRED', 'SCAN_MONITORING_ENDED']);
    });

    it('an exception that ends fails the finding it covered', () => {
      const withException = policyOf(
        'exceptions:\n  - { id: CVE-7, repositories: ["prod/api"], reason: vendor fix pending, owner: alice, expires: "2026-11-28T00:00:00Z" }\n',
      );
      const previous = run({
        scan: completeScan([finding('CVE-7', 'CRITICAL')]),
        policy: withException,
      });
      expect(previous.verdict).toBe('WARN');
      const e = run({
        scan: ended,
        previous,
        policy: withException,
        now: new Date('2026-11-29T00:00:00Z'),
      });
      expect(e.verdict).toBe('FAIL');
      expectCodes(e, ['EXCEPTION_EXPIRED', 'VULNERABILITY', 'SCAN_MONITORING_ENDED']);
      expect(e.reasons[1]?.findings).toEqual(['CVE-7']);
    });

    it('an image index carries only the ended platform, judging the others afresh', () => {
      const previous = run({
        platforms: [
          {
            digest: 'sha256:a',
            platform: 'linux/amd64',
            scan: completeScan([finding('CVE-1', 'LOW')]),
          },
          { digest: 'sha256:b', platform: 'linux/arm64', scan: completeScan([]) },
        ],
        scan: undefined,
      });
      const e = run({
        scan: undefined,
        previous,
        platforms: [
          { digest: 'sha256:a', platform: 'linux/amd64', scan: ended },
          {
            digest: 'sha256:b',
            platform: 'linux/arm64',
            scan: completeScan([finding('CVE-2', 'HIGH')]),
          },
        ],
      });
      expect(e.verdict).toBe('FAIL');
      expect(e.reasons.map((r) => [r.code, r.platform])).toEqual([
        ['SCAN_MONITORING_ENDED', 'linux/amd64'],
        ['VULNERABILITY', 'linux/arm64'],
      ]);
    });
  });

  it('warns when the scan is older than maxScanAge', () => {
    const e = run({
      scan: completeScan([], '2026-11-01T00:00:00Z'),
      policy: policyOf('defaults: { maxScanAge: 7d }'),
    });
    expect(e.verdict).toBe('WARN');
    expectCodes(e, ['SCAN_STALE']);
  });
});

describe('evaluate: signatures', () => {
  const required = policyOf(
    'defaults:\n  signatures:\n    required: true\n    keys: [{ name: ci, publicKey: "-----BEGIN PUBLIC KEY-----x" }]\n',
  );

  it.each([
    ['verified', { status: 'verified', signer: 'ci' }, 'PASS', ['SIGNATURE_VERIFIED']],
    ['unsigned', { status: 'unsigned' }, 'FAIL', ['SIGNATURE_UNVERIFIED']],
    ['invalid', { status: 'invalid', reason: 'wrong key' }, 'FAIL', ['SIGNATURE_UNVERIFIED']],
    ['not checked', undefined, 'FAIL', ['SIGNATURE_UNVERIFIED']],
  ] as const)('required and %s → %s', (_name, signature, verdict, expected) => {
    const e = run({ policy: required, ...(signature && { signature: { ...signature } }) });
    expect(e.verdict).toBe(verdict);
    expectCodes(e, [...expected]);
  });

  it('reports but does not fail an invalid signature when none is required', () => {
    const e = run({ signature: { status: 'invalid', reason: 'bad' } });
    expect(e.verdict).toBe('PASS');
    expect(e.reasons[0]).toMatchObject({ code: 'SIGNATURE_UNVERIFIED', effect: 'info' });
  });
});

describe('evaluate: image index', () => {
  const platforms = (
    amd64: ReturnType<typeof completeScan>,
    arm64: ReturnType<typeof completeScan>,
  ) => [
    { digest: keyOf('prod/api', 2).digest, platform: 'linux/amd64', scan: amd64 },
    { digest: keyOf('prod/api', 3).digest, platform: 'linux/arm64', scan: arm64 },
  ];

  it('passes only if every platform passes, naming the failing platform', () => {
    const e = run({
      scan: undefined,
      platforms: platforms(completeScan([]), completeScan([finding('CVE-1', 'HIGH')])),
    });
    expect(e.verdict).toBe('FAIL');
    expect(e.reasons).toEqual([
      expect.objectContaining({ code: 'VULNERABILITY', platform: 'linux/arm64' }),
    ]);
    expect(e.severityCounts.HIGH).toBe(1);
  });

  it('is PENDING while one platform is still scanning', () => {
    const e = run({
      scan: undefined,
      platforms: platforms(completeScan([]), scanIn('in-progress', 'IN_PROGRESS')),
    });
    expect(e.verdict).toBe('PENDING');
  });

  it('applies unscanned to an index without platforms', () => {
    const e = run({ scan: undefined, platforms: [] });
    expect(e.verdict).toBe('FAIL');
    expectCodes(e, ['NO_PLATFORMS']);
  });

  it("summarises an index's scan from its platforms, naming the source's fallback without one", () => {
    expect(indexScan([], 'ecr-basic')).toEqual({
      state: 'complete',
      status: 'NO_PLATFORMS',
      scanner: 'ecr-basic',
      findings: [],
    });
    expect(indexScan([], 'trivy').scanner).toBe('trivy');
    const scanned = platforms(
      { ...completeScan([], '2026-11-22T00:00:00.000Z'), scanner: 'inspector' },
      { ...completeScan([], '2026-11-21T00:00:00.000Z'), scanner: 'inspector' },
    );
    expect(indexScan(scanned, 'ecr-basic')).toMatchObject({
      scanner: 'inspector',
      completedAt: '2026-11-21T00:00:00.000Z',
    });
  });
});

describe('evaluate: a rule narrowed to a registry', () => {
  const policy = policyOf(`repositories:
  - match: "prod/*"
    registry: ${image.registry}
    block: { severity: MEDIUM }
`);
  const scan = completeScan([finding('CVE-1', 'MEDIUM')]);

  it('applies in the registry it names and not to the same repository in another', () => {
    expect(run({ policy, scan }).verdict).toBe('FAIL');
    const elsewhere = { ...image, registry: '210987654321.dkr.ecr.eu-west-1.amazonaws.com' };
    expect(run({ policy, scan, image: elsewhere }).verdict).toBe('PASS');
    expect(run({ policy, scan, image: { ...image, registry: 'ghcr.io' } }).verdict).toBe('PASS');
  });

  it('without a registry, applies to the repository in every registry', () => {
    const anywhere = policyOf(
      'repositories:\n  - match: "prod/*"\n    block: { severity: MEDIUM }\n',
    );
    for (const registry of [image.registry, 'ghcr.io', '127.0.0.1:5000']) {
      expect(run({ policy: anywhere, scan, image: { ...image, registry } }).verdict).toBe('FAIL');
    }
  });
});

describe('evaluate: determinism and admission', () => {
  it('gives the same result for the same input', () => {
    const input = { scan: completeScan([finding('CVE-2', 'HIGH'), finding('CVE-1', 'LOW')]) };
    expect(run(input)).toEqual(run(input));
  });

  it('records when a digest was first admitted and keeps it', () => {
    const first = run({ now: new Date('2026-11-01T00:00:00Z') });
    const second = run({ previous: first });
    expect(second.admittedAt).toBe('2026-11-01T00:00:00.000Z');
    const failed = run({ scan: completeScan([finding('CVE-1', 'HIGH')]), previous: second });
    expect(failed.admittedAt).toBeUndefined();
  });

  it('orders verdicts worst-first: FAIL > ERROR > PENDING > WARN > PASS', () => {
    expect(worstVerdict(['PASS', 'WARN'])).toBe('WARN');
    expect(worstVerdict(['PENDING', 'WARN'])).toBe('PENDING');
    expect(worstVerdict(['ERROR', 'PENDING'])).toBe('ERROR');
    expect(worstVerdict(['ERROR', 'FAIL'])).toBe('FAIL');
    expect(worstVerdict([])).toBe('PASS');
  });
});

describe('evaluate: exploitability (block.exploited, block.epss)', () => {
  const kev = parseKnownExploited(
    JSON.stringify({
      catalogVersion: '2026.11.20',
      dateReleased: '2026-11-20T18:00:00.000Z',
      count: 1,
      vulnerabilities: [{ cveID: 'CVE-2023-44487', dateAdded: '2023-10-10' }],
    }),
    'kev.json',
  );
  const exploitedPolicy = policyOf('defaults: { block: { severity: CRITICAL, exploited: true } }');

  it.each([
    [
      'Inspector exploitAvailable YES',
      { exploitAvailable: true },
      undefined,
      'FAIL',
      ['EXPLOITED'],
    ],
    [
      'Inspector lastKnownExploitAt',
      { exploitedAt: '2026-11-12T04:27:51.000Z' },
      undefined,
      'FAIL',
      ['EXPLOITED'],
    ],
    ['exploitAvailable NO', { exploitAvailable: false }, undefined, 'PASS', []],
    ['no exploit data, no catalog', {}, undefined, 'PASS', []],
    ['listed in KEV (basic scanning: only the id)', {}, kev, 'FAIL', ['EXPLOITED']],
  ] as const)('%s → %s', (_name, extra, knownExploited, verdict, expected) => {
    const e = run({
      scan: completeScan([finding('CVE-2023-44487', 'MEDIUM', { ...extra })]),
      policy: exploitedPolicy,
      ...(knownExploited && { knownExploited }),
    });
    expect(e.verdict).toBe(verdict);
    expectCodes(e, [...expected]);
  });

  it('matches KEV ids whatever their case, and marks the finding exploited in topFindings', () => {
    const e = run({
      scan: completeScan([finding('cve-2023-44487', 'LOW'), finding('CVE-2024-1', 'LOW')]),
      policy: exploitedPolicy,
      knownExploited: kev,
    });
    expect(e.reasons[0]).toMatchObject({ code: 'EXPLOITED', findings: ['cve-2023-44487'] });
    expect(e.topFindings.map((f) => [f.id, f.blocking, f.exploited])).toEqual([
      ['cve-2023-44487', true, true],
      ['CVE-2024-1', false, undefined],
    ]);
  });

  it('without block.exploited, exploit data blocks nothing', () => {
    const e = run({
      scan: completeScan([finding('CVE-2023-44487', 'MEDIUM', { exploitAvailable: true })]),
      knownExploited: kev,
    });
    expect(e.verdict).toBe('PASS');
  });

  it.each([
    [0.5, 'FAIL', ['EPSS_LIMIT']],
    [0.4999, 'PASS', []],
    [undefined, 'PASS', []],
  ] as const)('epss %s against block.epss 0.5 → %s', (epss, verdict, expected) => {
    const e = run({
      scan: completeScan([finding('CVE-1', 'LOW', epss === undefined ? {} : { epss })]),
      policy: policyOf('defaults: { block: { epss: 0.5 } }'),
    });
    expect(e.verdict).toBe(verdict);
    expectCodes(e, [...expected]);
    if (epss !== undefined) expect(e.topFindings[0]?.epss).toBe(epss);
  });

  it('names the exploitability rule when a finding is also over the severity threshold', () => {
    const e = run({
      scan: completeScan([finding('CVE-1', 'CRITICAL', { exploitAvailable: true, epss: 0.9 })]),
      policy: policyOf('defaults: { block: { exploited: true, epss: 0.5 } }'),
    });
    expect(codes(e)).toEqual(['EXPLOITED']);
  });

  it('onlyFixable ignores an unfixable exploited finding as it ignores any other', () => {
    const e = run({
      scan: completeScan([
        finding('CVE-1', 'LOW', { exploitAvailable: true, fixAvailable: false }),
      ]),
      policy: policyOf('defaults: { block: { exploited: true, onlyFixable: true } }'),
    });
    expect(codes(e)).toEqual(['UNFIXED_IGNORED']);
  });

  describe('grace per class on an admitted digest', () => {
    const admittedUnder = (body: string) => {
      const policy = policyOf(body);
      return { policy, previous: run({ policy, now: new Date('2026-11-20T00:00:00Z') }) };
    };
    const exploitedHigh = completeScan([finding('CVE-1', 'HIGH', { exploitAvailable: true })]);

    it('grace.exploited shortens the severity grace of an exploited finding', () => {
      const { policy, previous } = admittedUnder(
        'defaults: { block: { exploited: true }, grace: { HIGH: 7d, exploited: 1d } }',
      );
      const e = run({ scan: exploitedHigh, policy, previous });
      expect(e.verdict).toBe('WARN');
      expect(e.deadline).toBe('2026-11-24T12:00:00.000Z');
      expect(e.reasons[0]?.message).toContain('for exploited findings');
    });

    it('without grace.exploited an exploited finding keeps its severity grace', () => {
      const { policy, previous } = admittedUnder(
        'defaults: { block: { exploited: true }, grace: { HIGH: 7d } }',
      );
      expect(run({ scan: exploitedHigh, policy, previous }).deadline).toBe(
        '2026-11-30T12:00:00.000Z',
      );
    });

    it('grace.exploited 0d fails at once where HIGH alone would give 7 days', () => {
      const { policy, previous } = admittedUnder(
        'defaults: { block: { exploited: true }, grace: { HIGH: 7d, exploited: 0d } }',
      );
      const e = run({ scan: exploitedHigh, policy, previous });
      expect(e.verdict).toBe('FAIL');
      expect(codes(e)).toEqual(['GRACE_EXPIRED']);
    });

    it('grace.epss applies to a finding blocked by EPSS only', () => {
      const { policy, previous } = admittedUnder(
        'defaults: { block: { epss: 0.5 }, grace: { epss: 3d } }',
      );
      const e = run({
        scan: completeScan([finding('CVE-1', 'LOW', { epss: 0.7 })]),
        policy,
        previous,
      });
      expect(e.verdict).toBe('WARN');
      expect(e.deadline).toBe('2026-11-26T12:00:00.000Z');
    });

    it('a finding blocked by a class without grace gets none, whatever the other classes give', () => {
      const { policy, previous } = admittedUnder(
        'defaults: { block: { epss: 0.5 }, grace: { epss: 3d } }',
      );
      const e = run({
        scan: completeScan([finding('CVE-1', 'HIGH', { epss: 0.7 })]),
        policy,
        previous,
      });
      expect(e.verdict).toBe('FAIL');
    });
  });
});

afterAll(() => {
  // Every reason code the evaluator can produce is exercised above (EVALUATION_ERROR is the handler's).
  const produced = REASON_CODES.filter((c) => c !== 'EVALUATION_ERROR');
  expect(produced.filter((c) => !seen.has(c))).toEqual([]);
});
