import * as z from 'zod';
import { InvalidFindingsError } from '../../domain/errors';
import {
  compact,
  type Finding,
  type ScanFindings,
  type ScannerTraits,
  type ScanState,
} from '../../domain/findings';
import { normaliseSeverity } from '../../domain/severity';
import {
  awsTimestamp,
  INSPECTOR,
  inspectorFindingSchema,
  normaliseInspectorFinding,
} from './inspector-findings';

/** The scanner name ECR basic scanning findings are stored under. */
export const ECR_BASIC = 'ecr-basic';

/**
 * Basic scans run only when asked (on push, or the nightly StartImageScan), each ending in
 * an "ECR Image Scan" event; Inspector rescans continuously. An index has no scan of its own.
 */
export const ECR_SCANNERS: ScannerTraits = { onRequest: [ECR_BASIC], fallback: ECR_BASIC };

/** Where each is described: the vuln attestation's `scanner.uri` and `db.uri`. */
export const ECR_SCANNER_DOCS: ReadonlyMap<string, string> = new Map([
  [ECR_BASIC, 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-basic.html'],
  [INSPECTOR, 'https://docs.aws.amazon.com/inspector/latest/user/scanning-ecr.html'],
]);

const COMPLETE = new Set(['COMPLETE', 'ACTIVE']);
const IN_PROGRESS = new Set(['IN_PROGRESS', 'PENDING']);
/** ECR/Inspector statuses that mean "no new scan", not "a problem found". */
const MONITORING_ENDED = new Set([
  'SCAN_ELIGIBILITY_EXPIRED',
  'LIMIT_EXCEEDED',
  'FINDINGS_UNAVAILABLE',
  'IMAGE_ARCHIVED',
]);

const RESUME =
  'pull or push the image again to resume scanning, and check the Amazon Inspector ECR re-scan duration setting';
const REMEDY = new Map([
  ['SCAN_ELIGIBILITY_EXPIRED', `Inspector stopped monitoring it; ${RESUME}`],
  [
    'LIMIT_EXCEEDED',
    "a scanning limit was reached; check the account's Inspector/ECR scan quotas, then push or rescan",
  ],
  ['FINDINGS_UNAVAILABLE', `the scanner no longer offers findings; ${RESUME}`],
  ['IMAGE_ARCHIVED', 'the image is archived; restore it to scan it again'],
]);

/** Maps ECR's status word to the vendor-neutral state (docs/scan-statuses.md). */
export function scanStateOf(status: string | undefined): ScanState {
  if (status && COMPLETE.has(status)) return 'complete';
  if (status && IN_PROGRESS.has(status)) return 'in-progress';
  if (status && MONITORING_ENDED.has(status)) return 'monitoring-ended';
  return 'unscanned';
}

const attribute = z.object({ key: z.string(), value: z.string().optional() });
const basicFinding = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  uri: z.string().optional(),
  severity: z.string().optional(),
  attributes: z.array(attribute).optional(),
});

const scanFindingsResponse = z.looseObject({
  imageScanStatus: z
    .looseObject({ status: z.string().optional(), description: z.string().optional() })
    .optional(),
  imageScanFindings: z
    .looseObject({
      imageScanCompletedAt: awsTimestamp,
      vulnerabilitySourceUpdatedAt: awsTimestamp,
      findings: z.array(basicFinding).optional(),
      enhancedFindings: z.array(inspectorFindingSchema).optional(),
    })
    .optional(),
  nextToken: z.string().optional(),
});

function attributesOf(finding: z.infer<typeof basicFinding>): Map<string, string> {
  return new Map((finding.attributes ?? []).map((a) => [a.key, a.value ?? '']));
}

function numberOrUndefined(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function normaliseBasicFinding(raw: z.infer<typeof basicFinding>): Finding {
  const attrs = attributesOf(raw);
  const v3 = numberOrUndefined(attrs.get('CVSS3_SCORE'));
  const v2 = numberOrUndefined(attrs.get('CVSS2_SCORE'));
  const cvssScore =
    v3 !== undefined
      ? { score: v3, version: '3', vector: attrs.get('CVSS3_VECTOR') }
      : v2 !== undefined
        ? { score: v2, version: '2', vector: attrs.get('CVSS2_VECTOR') }
        : undefined;
  const name = attrs.get('package_name');
  return compact({
    id: raw.name,
    severity: normaliseSeverity(raw.severity),
    title: raw.description,
    cvss: cvssScore && compact(cvssScore),
    package: name ? compact({ name, version: attrs.get('package_version') }) : undefined,
    link: raw.uri,
  });
}

/**
 * Normalises one DescribeImageScanFindings response (one page, or pages already
 * concatenated) from basic or enhanced scanning. Throws InvalidFindingsError on a shape
 * that is not that API's.
 */
export function normaliseScanFindings(response: unknown, source = 'findings'): ScanFindings {
  const parsed = scanFindingsResponse.safeParse(response);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidFindingsError(
      `${source} is not a DescribeImageScanFindings response: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      { cause: parsed.error },
    );
  }
  const body = parsed.data;
  const scan = body.imageScanFindings;
  const enhanced = scan?.enhancedFindings;
  const status = body.imageScanStatus?.status ?? (scan ? 'COMPLETE' : 'UNKNOWN');
  return compact({
    state: scanStateOf(status),
    status,
    description: body.imageScanStatus?.description,
    remedy: REMEDY.get(status),
    scanner: enhanced && enhanced.length > 0 ? INSPECTOR : ECR_BASIC,
    completedAt: scan?.imageScanCompletedAt,
    vulnerabilitySourceUpdatedAt: scan?.vulnerabilitySourceUpdatedAt,
    findings: [
      ...(scan?.findings ?? []).map(normaliseBasicFinding),
      ...(enhanced ?? []).map(normaliseInspectorFinding),
    ],
  }) as ScanFindings;
}

/** Merges the pages of one paginated DescribeImageScanFindings call. */
export function mergeScanFindingPages(pages: ScanFindings[]): ScanFindings {
  const [first, ...rest] = pages;
  if (!first) throw new InvalidFindingsError('no DescribeImageScanFindings page to merge');
  return {
    ...first,
    scanner: pages.some((p) => p.scanner === INSPECTOR) ? INSPECTOR : first.scanner,
    findings: [first, ...rest].flatMap((p) => p.findings),
  };
}
