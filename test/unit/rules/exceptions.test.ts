import { exceptions } from '../../../shared/domain/rules/exceptions';
import { finding } from '../../support/builders';
import { findingFacts, manifestFacts } from '../../support/rule-facts';

const exceptionFor = (repositories: string, expires: string, owner = 'sec@acme.example') =>
  `{ id: cve-1, repositories: ["${repositories}"], expires: "${expires}", owner: ${owner}, reason: unreachable }`;
const blockedBy = ['VULNERABILITY'] as const;
const f = findingFacts(finding('CVE-1', 'HIGH'), { blockedBy });

describe('rule exceptions (now 2026-11-23T12:00Z)', () => {
  it('an exception in force clears the finding and ends the admission at its expiry', () => {
    const facts = manifestFacts(`exceptions: [${exceptionFor('prod/*', '2027-01-31')}]`);
    expect(exceptions(f, facts)).toEqual({
      notes: [
        {
          key: 'EXCEPTION_APPLIED#cve-1',
          reason: {
            code: 'EXCEPTION_APPLIED',
            effect: 'info',
            message: 'exception by sec@acme.example until 2027-02-01T00:00:00.000Z (unreachable)',
            exception: {
              id: 'cve-1',
              owner: 'sec@acme.example',
              expiresAt: '2027-02-01T00:00:00.000Z',
            },
          },
        },
      ],
      end: Date.parse('2027-02-01T00:00:00.000Z'),
      blocking: false,
    });
  });

  it('within 7 days of its end it also warns; of two in force the longer one applies', () => {
    const facts = manifestFacts(
      `exceptions: [${exceptionFor('prod/*', '2026-11-25', 'a')}, ${exceptionFor('prod/api', '2026-11-29', 'b')}]`,
    );
    const step = exceptions(f, facts);
    expect(step?.notes?.map((n) => [n.key, n.reason.effect])).toEqual([
      ['EXCEPTION_APPLIED#cve-1', 'info'],
      ['EXCEPTION_EXPIRING#cve-1', 'warn'],
    ]);
    expect(step?.end).toBe(Date.parse('2026-11-30T00:00:00.000Z'));
  });

  it('a lapsed exception is recorded and marks the finding lapsed, without settling it', () => {
    const step = exceptions(
      f,
      manifestFacts(`exceptions: [${exceptionFor('prod/*', '2026-11-01')}]`),
    );
    expect(step).toEqual({
      notes: [
        {
          key: 'EXCEPTION_EXPIRED#cve-1',
          reason: {
            code: 'EXCEPTION_EXPIRED',
            effect: 'info',
            message:
              'exception cve-1 (owner sec@acme.example) expired 2026-11-02T00:00:00.000Z and no longer applies',
            exception: {
              id: 'cve-1',
              owner: 'sec@acme.example',
              expiresAt: '2026-11-02T00:00:00.000Z',
            },
          },
        },
      ],
      lapsed: true,
    });
  });

  it('an exception for another repository, or a finding nothing blocks: nothing', () => {
    const other = manifestFacts(`exceptions: [${exceptionFor('dev/*', '2027-01-31')}]`);
    expect(exceptions(f, other)).toBeUndefined();
    const here = manifestFacts(`exceptions: [${exceptionFor('prod/*', '2027-01-31')}]`);
    expect(exceptions(findingFacts(finding('CVE-1', 'HIGH')), here)).toBeUndefined();
  });
});
