import { normaliseScanFindings } from '../../shared/adapters/aws/ecr-findings';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { imageId } from '../../shared/domain/image-ref';
import { changeOf } from '../../shared/domain/verdict-event';
import { evaluateImage } from '../../shared/services/evaluate-image';
import { keyOf, policyOf } from '../support/builders';
import { MemoryVerdicts } from '../support/memory-verdicts';

// The stored path: a PASS in the verdict table, then Inspector stops monitoring the image.
const key = keyOf('prod/api');
const policy = policyOf('defaults: { unscanned: deny, maxScanAge: 30d }');
const at = (iso: string) => () => new Date(iso);
const active = normaliseScanFindings({
  imageScanStatus: { status: 'ACTIVE' },
  imageScanFindings: { imageScanCompletedAt: '2026-11-01T00:00:00Z', enhancedFindings: [] },
});
const expired = normaliseScanFindings({ imageScanStatus: { status: 'SCAN_ELIGIBILITY_EXPIRED' } });

async function storedPass() {
  const world = new MemoryRegistry().put({ key, tags: ['1.0'] }, active);
  const store = new MemoryVerdicts();
  const first = await evaluateImage(
    { key, trigger: 'push' },
    { images: world, findings: world, store, policy, clock: at('2026-11-02T00:00:00Z') },
  );
  expect(first.record).toMatchObject({ verdict: 'PASS', scannedAt: '2026-11-01T00:00:00.000Z' });
  world.putScan(key, expired);
  return { world, store, options: { images: world, findings: world, store, policy } };
}

it('keeps a stored PASS admitted (WARN) and announces it with the new reason', async () => {
  const { store, options } = await storedPass();
  const before = store.records.get(imageId(key));
  const result = await evaluateImage(
    { key, trigger: 'scan' },
    { ...options, clock: at('2026-11-20T00:00:00Z') },
  );
  expect(result.write).toBe('transition');
  expect(result.record).toMatchObject({
    verdict: 'WARN',
    previousVerdict: 'PASS',
    scannedAt: '2026-11-01T00:00:00.000Z',
    scan: { state: 'monitoring-ended', status: 'SCAN_ELIGIBILITY_EXPIRED' },
  });
  expect(result.record?.reasons.map((r) => r.code)).toEqual(['SCAN_MONITORING_ENDED']);
  const change = changeOf(
    before as unknown as Record<string, unknown>,
    { ...result.record, pk: `IMG#${imageId(key)}`, sk: 'CURRENT', admitted: 1 } as never,
  );
  expect(change.event).toMatchObject({
    verdict: 'WARN',
    previousVerdict: 'PASS',
    admitted: true,
    reasons: [{ code: 'SCAN_MONITORING_ENDED', effect: 'warn' }],
  });
});

it('a record stored before scannedAt existed takes the date from its scan summary', async () => {
  const { store, options } = await storedPass();
  const { scannedAt: _dropped, ...old } = store.records.get(imageId(key)) ?? ({} as never);
  store.records.set(imageId(key), old as never);
  const result = await evaluateImage(
    { key, trigger: 'scan' },
    { ...options, clock: at('2026-12-05T00:00:00Z') },
  );
  expect(result.record).toMatchObject({ verdict: 'WARN', scannedAt: '2026-11-01T00:00:00.000Z' });
  expect(result.record?.reasons.map((r) => [r.code, r.message])).toEqual([
    [
      'SCAN_MONITORING_ENDED',
      'no new scan (status SCAN_ELIGIBILITY_EXPIRED); the last judgement (scan of 2026-11-01T00:00:00.000Z) stands. Inspector stopped monitoring it; pull or push the image again to resume scanning, and check the Amazon Inspector ECR re-scan duration setting',
    ],
    ['SCAN_STALE', 'the last scan finished 2026-11-01T00:00:00.000Z, older than maxScanAge 30d'],
  ]);
});
