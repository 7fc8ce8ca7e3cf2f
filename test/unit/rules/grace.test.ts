import { grace } from '../../../shared/domain/rules/grace';
import { finding } from '../../support/builders';
import { findingFacts, manifestFacts } from '../../support/rule-facts';

const policy = 'defaults: { grace: { HIGH: 7d, CRITICAL: 1d, exploited: 2d } }';
const high = finding('CVE-1', 'HIGH');
const blockedBy = ['VULNERABILITY'] as const;

describe('rule grace (now 2026-11-23T12:00Z)', () => {
  it('a finding new on an admitted digest gets a deadline from now', () => {
    const step = grace(
      findingFacts(high, { blockedBy }),
      manifestFacts(policy, { previousAdmitted: true }),
    );
    expect(step).toEqual({
      firstSeen: '2026-11-23T12:00:00.000Z',
      running: Date.parse('2026-11-30T12:00:00.000Z'),
      blocking: true,
      notes: [
        {
          key: 'GRACE_PERIOD#2026-11-30T12:00:00.000Z',
          reason: {
            code: 'GRACE_PERIOD',
            effect: 'warn',
            message:
              'remediation deadline 2026-11-30T12:00:00.000Z for HIGH findings on an admitted digest',
            deadline: '2026-11-30T12:00:00.000Z',
          },
        },
      ],
    });
  });

  it('the clock runs from first seen: past the deadline it fails', () => {
    const facts = manifestFacts(policy, {
      previousClock: new Map([['CVE-1', '2026-11-15T00:00:00.000Z']]),
    });
    expect(grace(findingFacts(high, { blockedBy }), facts)).toEqual({
      firstSeen: '2026-11-15T00:00:00.000Z',
      expired: Date.parse('2026-11-22T00:00:00.000Z'),
      blocking: true,
      notes: [
        {
          key: 'GRACE_EXPIRED',
          reason: {
            code: 'GRACE_EXPIRED',
            effect: 'fail',
            message: 'remediation deadline passed',
            deadline: '2026-11-22T00:00:00.000Z',
          },
        },
      ],
    });
  });

  it('several rules block: the shortest grace wins, exploited under its own class', () => {
    const facts = manifestFacts(policy, { previousAdmitted: true });
    const step = grace(findingFacts(high, { blockedBy: ['EXPLOITED', 'VULNERABILITY'] }), facts);
    expect(step?.running).toBe(Date.parse('2026-11-25T12:00:00.000Z'));
    expect(step?.notes?.[0]?.reason.message).toContain('for exploited findings');
  });

  it('no grace: a new digest, a lapsed exception, a class without grace', () => {
    expect(grace(findingFacts(high, { blockedBy }), manifestFacts(policy))).toBeUndefined();
    const admitted = manifestFacts(policy, { previousAdmitted: true });
    expect(grace(findingFacts(high, { blockedBy, lapsed: true }), admitted)).toBeUndefined();
    const medium = finding('CVE-2', 'MEDIUM');
    expect(grace(findingFacts(medium, { blockedBy }), admitted)).toBeUndefined();
    // Exploited has 2d, but MEDIUM (what VULNERABILITY uses) has none: the strictest rule wins.
    const both = findingFacts(medium, { blockedBy: ['EXPLOITED', 'VULNERABILITY'] });
    expect(grace(both, admitted)).toBeUndefined();
  });
});
