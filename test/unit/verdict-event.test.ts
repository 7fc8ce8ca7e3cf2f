import { ecrConsoleUrl } from '../../shared/adapters/aws/ecr-console';
import { snsSubject, verdictMessage } from '../../shared/adapters/aws/sns-messages';
import { InvalidEventError } from '../../shared/domain/errors';
import { emptySeverityCounts } from '../../shared/domain/severity';
import type { Reason } from '../../shared/domain/verdict';
import { changeOf, verdictEventOf } from '../../shared/domain/verdict-event';
import type { VerdictRecord } from '../../shared/domain/verdict-record';
import { digestOf, REGISTRY } from '../support/builders';

const T0 = '2026-11-20T09:00:00.000Z';
const T1 = '2026-11-23T02:00:00.000Z';

/** A CURRENT item as the stream carries it after unmarshalling. */
function item(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    pk: `IMG#${REGISTRY}/prod/api@${digestOf(1)}`,
    sk: 'CURRENT',
    registry: REGISTRY,
    repository: 'prod/api',
    digest: digestOf(1),
    tags: ['1.4.2'],
    scan: { state: 'complete', status: 'COMPLETE', scanner: 'ecr-basic' },
    verdict: 'PASS',
    reasons: [],
    severityCounts: emptySeverityCounts(),
    maxSeverity: 'NONE',
    topFindings: [],
    findingClock: {},
    policyHash: 'sha256:policy',
    evaluatedAt: T0,
    version: 1,
    transitionId: 'aaaa',
    transitionAt: T0,
    admitted: 3,
    ...over,
  };
}

const fail = {
  verdict: 'FAIL',
  previousVerdict: 'PASS',
  version: 2,
  transitionId: 'bbbb',
  transitionAt: T1,
  evaluatedAt: T1,
  admitted: undefined,
  maxSeverity: 'CRITICAL',
};

describe('changeOf: what a stream record means', () => {
  const cases: [
    string,
    Record<string, unknown> | undefined,
    Record<string, unknown> | undefined,
    string | undefined,
    boolean,
  ][] = [
    ['first verdict PASS', undefined, item(), 'aaaa', true],
    ['first verdict FAIL', undefined, item({ ...fail, previousVerdict: undefined }), 'bbbb', false],
    ['PASS → FAIL', item(), item(fail), 'bbbb', true],
    [
      'FAIL → PASS',
      item(fail),
      item({ version: 3, transitionId: 'cccc', previousVerdict: 'FAIL' }),
      'cccc',
      true,
    ],
    [
      'PASS → WARN stays listed but the entry changes',
      item(),
      item({ verdict: 'WARN', transitionId: 'dddd', version: 2 }),
      'dddd',
      true,
    ],
    [
      'tags of an admitted digest moved',
      item(),
      item({ tags: ['1.4.3'], version: 2 }),
      undefined,
      true,
    ],
    [
      'expiresAt of an admitted digest moved',
      item(),
      item({ expiresAt: T1, version: 2 }),
      undefined,
      true,
    ],
    [
      'reasons changed on a FAIL (no transition)',
      item(fail),
      item({
        ...fail,
        reasons: [{ code: 'VULNERABILITY', effect: 'fail', message: 'x' }],
        version: 3,
      }),
      undefined,
      false,
    ],
    [
      'tags changed on a FAIL',
      item(fail),
      item({ ...fail, tags: ['x'], version: 3 }),
      undefined,
      false,
    ],
    ['evaluatedAt touch', item(), item({ evaluatedAt: T1 }), undefined, false],
    [
      'deleted: a transition that leaves the allowlist',
      item(),
      item({ deletedAt: T1, admitted: undefined, transitionId: 'eeee', version: 2 }),
      'eeee',
      true,
    ],
    ['CURRENT item removed', item(), undefined, undefined, true],
    ['FAIL item removed', item(fail), undefined, undefined, false],
    [
      'history item',
      undefined,
      { pk: 'IMG#x', sk: 'H#2026', verdict: 'FAIL', transitionId: 'zz' },
      undefined,
      false,
    ],
    [
      'delivery marker',
      undefined,
      { pk: 'EVENT#bbbb', sk: 'SNS', status: 'IN_PROGRESS' },
      undefined,
      false,
    ],
    [
      'sequence counter',
      { pk: 'ALLOWLIST', sk: 'SEQUENCE', value: 1 },
      { pk: 'ALLOWLIST', sk: 'SEQUENCE', value: 2 },
      undefined,
      false,
    ],
  ];
  it.each(cases)('%s', (_name, before, after, transitionId, dirty) => {
    const change = changeOf(before, after);
    expect(change.event?.id).toBe(transitionId);
    expect(change.allowlistDirty).toBe(dirty);
  });

  it('names the item and field of a malformed CURRENT item', () => {
    expect(() => changeOf(undefined, item({ verdict: 'MAYBE' }))).toThrow(InvalidEventError);
    expect(() => changeOf(undefined, item({ verdict: 'MAYBE' }))).toThrow(/IMG#.*verdict/);
  });
});

describe('verdict events', () => {
  const record = item({
    ...fail,
    tags: ['1.4.2', 'latest'],
    reasons: [
      { code: 'VULNERABILITY', effect: 'fail', message: 'CVE-1 blocks', findings: ['CVE-1'] },
      {
        code: 'EXCEPTION_APPLIED',
        effect: 'info',
        message: 'exception',
        exception: {
          id: 'CVE-2',
          owner: 'sec@acme.example',
          expiresAt: '2026-11-25T00:00:00.000Z',
        },
      },
      {
        code: 'EXCEPTION_APPLIED',
        effect: 'info',
        message: 'far exception',
        exception: {
          id: 'CVE-3',
          owner: 'sec@acme.example',
          expiresAt: '2027-06-01T00:00:00.000Z',
        },
      },
    ],
  }) as unknown as VerdictRecord;

  it('carries image, previous and new verdict, and only exceptions ending within 7 days', () => {
    const event = verdictEventOf(record, false);
    expect(event).toMatchObject({
      apiVersion: 'registry-watcher/v1',
      kind: 'VerdictChanged',
      id: 'bbbb',
      time: T1,
      version: 2,
      verdict: 'FAIL',
      previousVerdict: 'PASS',
      admitted: false,
      image: {
        repository: 'prod/api',
        tags: ['1.4.2', 'latest'],
        id: `${REGISTRY}/prod/api@${digestOf(1)}`,
      },
      expiringExceptions: [{ id: 'CVE-2', owner: 'sec@acme.example' }],
    });
    // The console link is the publishing adapter's (it knows the registry), last in `image`.
    expect(event.image.consoleUrl).toBeUndefined();
    const published = JSON.parse(verdictMessage(event).body);
    expect(published.image.consoleUrl).toBe(
      `https://eu-west-1.console.aws.amazon.com/ecr/repositories/private/123456789012/prod/api/_/image/${digestOf(1)}/details?region=eu-west-1`,
    );
    expect(Object.keys(published.image).at(-1)).toBe('consoleUrl');
  });

  it('publishes with filterable attributes and a readable ASCII subject', () => {
    const message = verdictMessage(verdictEventOf(record, false));
    expect(message.attributes).toEqual({
      type: 'verdict',
      verdict: 'FAIL',
      previousVerdict: 'PASS',
      repository: 'prod/api',
      registry: REGISTRY,
      maxSeverity: 'CRITICAL',
      deleted: 'false',
    });
    expect(message.subject).toBe('[registry-watcher] FAIL (was PASS): prod/api:1.4.2');
    expect(message.id).toBe('bbbb');
    expect(JSON.parse(message.body).id).toBe('bbbb');
  });

  it('marks a first verdict as NONE for filter policies', () => {
    const first = verdictMessage(
      verdictEventOf({ ...record, previousVerdict: undefined } as VerdictRecord, false),
    );
    expect(first.attributes.previousVerdict).toBe('NONE');
    expect(first.subject).toContain('FAIL (first verdict)');
  });

  it('announces a deletion as such, filterable by deleted=true', () => {
    const deleted = verdictMessage(
      verdictEventOf({ ...record, verdict: 'PASS', deletedAt: T1 } as VerdictRecord, false),
    );
    expect(deleted.subject).toBe('[registry-watcher] DELETED (was PASS): prod/api:1.4.2');
    expect(deleted.attributes).toMatchObject({ verdict: 'PASS', deleted: 'true' });
  });

  it('cuts long reason lists and marks the event truncated', () => {
    const many: Reason[] = Array.from({ length: 40 }, (_, i) => ({
      code: 'VULNERABILITY',
      effect: 'fail',
      message: `r${i}`,
      findings: Array.from({ length: 50 }, (_, j) => `CVE-${i}-${j}`),
    }));
    const event = verdictEventOf({ ...record, reasons: many }, false);
    expect(event.reasons).toHaveLength(25);
    expect(event.reasons[0]?.findings).toHaveLength(20);
    expect(event.truncated).toBe(true);
  });

  it.each([
    ['short', 'short'],
    ['a → b', 'a ? b'],
    ['line\nbreak', 'line?break'],
    ['x'.repeat(120), `${'x'.repeat(96)}...`],
    ['y'.repeat(99), 'y'.repeat(99)],
  ])('subject %j becomes %j', (input, expected) => {
    expect(snsSubject(input)).toBe(expected);
  });

  it('links to the ECR console only for ECR registries', () => {
    expect(ecrConsoleUrl('ghcr.io', 'acme/x', digestOf(1))).toBeUndefined();
    const elsewhere = verdictEventOf({ ...record, registry: 'ghcr.io' } as VerdictRecord, false);
    expect(JSON.parse(verdictMessage(elsewhere).body).image).not.toHaveProperty('consoleUrl');
  });
});
