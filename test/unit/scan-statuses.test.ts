import { normaliseScanFindings } from '../../shared/adapters/aws/ecr-findings';
import { evaluate } from '../../shared/domain/evaluate';
import { keyOf, policyOf } from '../support/builders';

// One row per ECR/Inspector ImageScanStatus of docs/scan-statuses.md: the raw status goes
// through the response normaliser (the vendor mapping) and then the evaluator.
const NOW = new Date('2026-11-23T12:00:00.000Z');
const image = keyOf('prod/api');
const policy = policyOf('defaults: { unscanned: deny, maxScanAge: 30d }');

const response = (status: string | undefined) =>
  status === 'COMPLETE' || status === 'ACTIVE'
    ? {
        imageScanStatus: { status },
        imageScanFindings: { imageScanCompletedAt: '2026-11-22T00:00:00Z', findings: [] },
      }
    : status
      ? { imageScanStatus: { status } }
      : {};

/** The PASS verdict of a clean scan three days earlier: the digest was judged before. */
const previous = evaluate({
  image,
  scan: normaliseScanFindings(response('COMPLETE')),
  policy,
  now: new Date('2026-11-22T01:00:00Z'),
});

const RESUME =
  'pull or push the image again to resume scanning, and check the Amazon Inspector ECR re-scan duration setting';
const pending = (status: string) => [['SCAN_PENDING', 'pending', `the scan is ${status}`]];
const rescan = [
  ['RESCAN_PENDING', 'info', 'a rescan is running; the previous verdict holds until it completes'],
];
const unscanned = (status: string, remedy = '') => [
  ['UNSCANNED', 'fail', `no usable scan (status ${status}); policy unscanned: deny${remedy}`],
];
const kept = (status: string, remedy: string) => [
  [
    'SCAN_MONITORING_ENDED',
    'warn',
    `no new scan (status ${status}); the last judgement (scan of 2026-11-22T00:00:00.000Z) stands. ${remedy}`,
  ],
];
const expired = `Inspector stopped monitoring it; ${RESUME}`;
const limit =
  "a scanning limit was reached; check the account's Inspector/ECR scan quotas, then push or rescan";
const unavailable = `the scanner no longer offers findings; ${RESUME}`;
const archived = 'the image is archived; restore it to scan it again';

type Row = [string | undefined, string, string[][], string, string[][]];
const rows: Row[] = [
  // status, never judged: verdict, reasons; judged before (PASS): verdict, reasons
  ['IN_PROGRESS', 'PENDING', pending('in_progress'), 'PASS', rescan],
  ['PENDING', 'PENDING', pending('pending'), 'PASS', rescan],
  ['COMPLETE', 'PASS', [], 'PASS', []],
  ['ACTIVE', 'PASS', [], 'PASS', []],
  ['FAILED', 'FAIL', unscanned('FAILED'), 'FAIL', unscanned('FAILED')],
  [
    'UNSUPPORTED_IMAGE',
    'FAIL',
    unscanned('UNSUPPORTED_IMAGE'),
    'FAIL',
    unscanned('UNSUPPORTED_IMAGE'),
  ],
  [
    'SCAN_ELIGIBILITY_EXPIRED',
    'FAIL',
    unscanned('SCAN_ELIGIBILITY_EXPIRED', `. ${expired}`),
    'WARN',
    kept('SCAN_ELIGIBILITY_EXPIRED', expired),
  ],
  [
    'LIMIT_EXCEEDED',
    'FAIL',
    unscanned('LIMIT_EXCEEDED', `. ${limit}`),
    'WARN',
    kept('LIMIT_EXCEEDED', limit),
  ],
  [
    'FINDINGS_UNAVAILABLE',
    'FAIL',
    unscanned('FINDINGS_UNAVAILABLE', `. ${unavailable}`),
    'WARN',
    kept('FINDINGS_UNAVAILABLE', unavailable),
  ],
  [
    'IMAGE_ARCHIVED',
    'FAIL',
    unscanned('IMAGE_ARCHIVED', `. ${archived}`),
    'WARN',
    kept('IMAGE_ARCHIVED', archived),
  ],
  [undefined, 'FAIL', unscanned('UNKNOWN'), 'FAIL', unscanned('UNKNOWN')],
];

describe('docs/scan-statuses.md, one test per status', () => {
  it('the previous verdict is a PASS from a usable scan', () => {
    expect(previous).toMatchObject({ verdict: 'PASS', scannedAt: '2026-11-22T00:00:00.000Z' });
  });

  it.each(rows)('%s: never judged → %s; judged before (PASS) → %s', (status, ...expected) => {
    const [neverVerdict, neverReasons, beforeVerdict, beforeReasons] = expected;
    const scan = normaliseScanFindings(response(status));
    const never = evaluate({ image, scan, policy, now: NOW });
    const before = evaluate({ image, scan, policy, previous, now: NOW });
    const shape = (e: typeof never) => e.reasons.map((r) => [r.code, r.effect, r.message]);
    expect([never.verdict, shape(never)]).toEqual([neverVerdict, neverReasons]);
    expect([before.verdict, shape(before)]).toEqual([beforeVerdict, beforeReasons]);
  });
});
