import { carryJudgement } from '../../../shared/domain/rules/carried-judgement';
import type { PreviousEvaluation } from '../../../shared/domain/rules/facts';
import { emptySeverityCounts } from '../../../shared/domain/severity';
import { scanIn } from '../../support/builders';
import { manifestFacts } from '../../support/rule-facts';

const previous = (
  reasons: PreviousEvaluation['reasons'],
  scannedAt?: string,
): PreviousEvaluation => ({
  verdict: 'WARN',
  reasons,
  severityCounts: emptySeverityCounts(),
  maxSeverity: 'HIGH',
  topFindings: [],
  findingClock: {},
  ...(scannedAt && { scannedAt }),
});
const facts = manifestFacts('defaults: { maxScanAge: 30d }', {
  scan: scanIn('monitoring-ended', 'SCAN_ELIGIBILITY_EXPIRED'),
});

describe('carryJudgement (now 2026-11-23T12:00Z)', () => {
  it('a running grace deadline is kept; a passed one fails', () => {
    const outcome = carryJudgement(
      facts,
      previous(
        [
          {
            code: 'GRACE_PERIOD',
            effect: 'warn',
            message: 'm',
            findings: ['CVE-1'],
            deadline: '2026-11-30T00:00:00.000Z',
          },
          {
            code: 'GRACE_PERIOD',
            effect: 'warn',
            message: 'm',
            findings: ['CVE-2'],
            deadline: '2026-11-20T00:00:00.000Z',
          },
        ],
        '2026-11-10T00:00:00.000Z',
      ),
    );
    expect(outcome.running).toEqual([Date.parse('2026-11-30T00:00:00.000Z')]);
    expect(outcome.expired).toEqual([Date.parse('2026-11-20T00:00:00.000Z')]);
    expect(outcome.reasons?.map((r) => [r.code, r.effect])).toEqual([
      ['GRACE_PERIOD', 'warn'],
      ['GRACE_EXPIRED', 'fail'],
      ['SCAN_MONITORING_ENDED', 'warn'],
    ]);
    expect(outcome.reasons?.[1]?.message).toBe('remediation deadline passed: CVE-2');
    expect(outcome.scannedAt).toBe('2026-11-10T00:00:00.000Z');
  });

  it('an exception that ended since turns its findings into a VULNERABILITY', () => {
    const exception = { id: 'CVE-1', owner: 'sec', expiresAt: '2026-11-21T00:00:00.000Z' };
    const outcome = carryJudgement(
      facts,
      previous(
        [
          {
            code: 'EXCEPTION_APPLIED',
            effect: 'info',
            message: 'm',
            findings: ['CVE-1'],
            exception,
          },
        ],
        '2026-11-10T00:00:00.000Z',
      ),
    );
    expect(outcome.reasons?.map((r) => r.code)).toEqual([
      'EXCEPTION_EXPIRED',
      'VULNERABILITY',
      'SCAN_MONITORING_ENDED',
    ]);
    expect(outcome.reasons?.[1]).toEqual({
      code: 'VULNERABILITY',
      effect: 'fail',
      message: 'findings of the last scan no longer covered by an exception: CVE-1',
      findings: ['CVE-1'],
    });
    expect(outcome.ends).toEqual([]);
  });

  it('recomputed codes are dropped; a scan with no date is stale', () => {
    const outcome = carryJudgement(
      facts,
      previous([
        { code: 'SCAN_STALE', effect: 'warn', message: 'old' },
        { code: 'SIGNATURE_VERIFIED', effect: 'info', message: 'old' },
        { code: 'VULNERABILITY', effect: 'fail', message: 'kept', findings: ['CVE-9'] },
      ]),
    );
    expect(outcome.reasons?.map((r) => [r.code, r.message])).toEqual([
      ['VULNERABILITY', 'kept'],
      [
        'SCAN_MONITORING_ENDED',
        'no new scan (status SCAN_ELIGIBILITY_EXPIRED); the last judgement stands',
      ],
      [
        'SCAN_STALE',
        'the last usable scan has no known date, so maxScanAge 30d cannot vouch for it',
      ],
    ]);
  });
});
