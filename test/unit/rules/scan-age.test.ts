import { scanAge } from '../../../shared/domain/rules/scan-age';
import { completeScan, scanIn } from '../../support/builders';
import { manifestFacts } from '../../support/rule-facts';

describe('rule scanAge (now 2026-11-23T12:00Z)', () => {
  it('a scan older than maxScanAge warns, naming when it finished', () => {
    const facts = manifestFacts('defaults: { maxScanAge: 2d }', {
      scan: completeScan([], '2026-11-21T11:59:59.000Z'),
    });
    expect(scanAge(facts)).toEqual({
      reasons: [
        {
          code: 'SCAN_STALE',
          effect: 'warn',
          message: 'the last scan finished 2026-11-21T11:59:59.000Z, older than maxScanAge 2d',
        },
      ],
    });
  });

  it('a scan exactly maxScanAge old is not stale yet', () => {
    const facts = manifestFacts('defaults: { maxScanAge: 2d }', {
      scan: completeScan([], '2026-11-21T12:00:00.000Z'),
    });
    expect(scanAge(facts)).toBeUndefined();
  });

  it('a scan without a completion time says nothing here', () => {
    expect(scanAge(manifestFacts('', { scan: scanIn('complete', 'COMPLETE') }))).toBeUndefined();
  });
});
