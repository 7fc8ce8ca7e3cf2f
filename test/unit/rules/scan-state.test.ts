import { noPlatforms, scanState } from '../../../shared/domain/rules/scan-state';
import { completeScan, scanIn } from '../../support/builders';
import { manifestFacts } from '../../support/rule-facts';

describe('rule scanState', () => {
  it('a running scan is PENDING and final, and marks the manifest rescanning', () => {
    expect(scanState(manifestFacts('', { scan: scanIn('in-progress', 'IN_PROGRESS') }))).toEqual({
      reasons: [{ code: 'SCAN_PENDING', effect: 'pending', message: 'the scan is in_progress' }],
      rescanning: true,
      final: true,
    });
  });

  it.each([
    ['deny', 'fail'],
    ['warn', 'warn'],
    ['allow', 'info'],
  ])('no usable scan under unscanned: %s gives an UNSCANNED %s', (action, effect) => {
    const facts = manifestFacts(`defaults: { unscanned: ${action} }`, {
      scan: { ...scanIn('unscanned', 'UNSUPPORTED_IMAGE', 'not an OS we know'), remedy: 'Use x.' },
    });
    expect(scanState(facts)).toEqual({
      reasons: [
        {
          code: 'UNSCANNED',
          effect,
          message: `no usable scan (status UNSUPPORTED_IMAGE: not an OS we know); policy unscanned: ${action}. Use x.`,
        },
      ],
      final: true,
    });
  });

  it('monitoring ended on a digest never judged is unscanned, not carried', () => {
    const outcome = scanState(manifestFacts('', { scan: scanIn('monitoring-ended', 'ACTIVE') }));
    expect(outcome?.reasons?.map((r) => r.code)).toEqual(['UNSCANNED']);
    expect(outcome?.carried).toBeUndefined();
  });

  it('monitoring ended on a digest judged before carries that judgement', () => {
    const outcome = scanState(
      manifestFacts('', {
        scan: scanIn('monitoring-ended', 'SCAN_ELIGIBILITY_EXPIRED'),
        judgedBefore: {
          verdict: 'PASS',
          reasons: [],
          severityCounts: {} as never,
          maxSeverity: 'NONE',
          topFindings: [],
          findingClock: {},
          scannedAt: '2026-11-20T00:00:00.000Z',
        },
      }),
    );
    expect(outcome).toMatchObject({ carried: true, final: true });
    expect(outcome?.reasons?.map((r) => r.code)).toEqual(['SCAN_MONITORING_ENDED']);
  });

  it('a complete scan goes on to the next rules with its completion time', () => {
    expect(
      scanState(manifestFacts('', { scan: completeScan([], '2026-11-21T00:00:00.000Z') })),
    ).toEqual({
      scannedAt: '2026-11-21T00:00:00.000Z',
    });
  });
});

describe('rule noPlatforms', () => {
  it('an index without platform manifests is judged by unscanned', () => {
    expect(noPlatforms(manifestFacts('defaults: { unscanned: warn }', { manifests: 0 }))).toEqual({
      reasons: [
        {
          code: 'NO_PLATFORMS',
          effect: 'warn',
          message: 'the image index lists no platform manifest to scan (policy unscanned: warn)',
        },
      ],
    });
    expect(noPlatforms(manifestFacts('', { manifests: 2 }))).toBeUndefined();
  });
});
