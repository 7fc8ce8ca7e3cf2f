import * as z from 'zod';
import { InvalidFindingsError } from './errors';
import { normaliseSeverity, type Severity } from './severity';
import { parseTimestamp } from './time';

/** One vulnerability finding, whichever scanner reported it. */
export interface Finding {
  id: string;
  severity: Severity;
  title?: string;
  cvss?: { score: number; version: string; vector?: string };
  package?: { name: string; version?: string; ecosystem?: string };
  fixedIn?: string;
  /** undefined when the scanner does not say (ECR basic scanning). */
  fixAvailable?: boolean;
  /** The scanner knows a public exploit (Inspector `exploitAvailable: YES`). */
  exploitAvailable?: boolean;
  /** Last exploitation the scanner has seen (Inspector `exploitabilityDetails.lastKnownExploitAt`). */
  exploitedAt?: string;
  /** Probability of exploitation within 30 days, 0..1 (FIRST EPSS, as Inspector reports it). */
  epss?: number;
  inspectorScore?: number;
  link?: string;
  firstObservedAt?: string;
}

/**
 * Where a scan stands: drives PENDING, `unscanned` and staleness. `monitoring-ended`: the
 * scanner stopped producing new scans of this image (no finding implied); the last
 * judgement of a digest judged before stands (docs/scan-statuses.md).
 */
export type ScanState = 'complete' | 'in-progress' | 'monitoring-ended' | 'unscanned';
export type Scanner = 'ecr-basic' | 'inspector';

export interface ScanFindings {
  state: ScanState;
  /** ECR's own status word (COMPLETE, ACTIVE, FAILED, UNSUPPORTED_IMAGE, ...). */
  status: string;
  description?: string;
  /** What an operator can do about this state (set by the adapter that knows the scanner). */
  remedy?: string;
  scanner: Scanner;
  completedAt?: string;
  vulnerabilitySourceUpdatedAt?: string;
  findings: Finding[];
}

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

const timestamp = z
  .unknown()
  .transform((v) => parseTimestamp(v)?.toISOString())
  .optional();

const attribute = z.object({ key: z.string(), value: z.string().optional() });
const basicFinding = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  uri: z.string().optional(),
  severity: z.string().optional(),
  attributes: z.array(attribute).optional(),
});

const cvss = z.looseObject({
  baseScore: z.number().optional(),
  scoringVector: z.string().optional(),
  source: z.string().optional(),
  version: z.string().optional(),
});
const vulnerablePackage = z.looseObject({
  name: z.string().optional(),
  version: z.string().optional(),
  packageManager: z.string().optional(),
  fixedInVersion: z.string().optional(),
});
/** Inspector's finding shape: ECR's enhancedFindings[] and the "Inspector2 Finding" event detail. */
export const inspectorFindingSchema = z.looseObject({
  title: z.string().optional(),
  severity: z.string().optional(),
  score: z.number().optional(),
  inspectorScore: z.number().optional(),
  firstObservedAt: timestamp,
  fixAvailable: z.string().optional(),
  exploitAvailable: z.string().optional(),
  exploitabilityDetails: z.looseObject({ lastKnownExploitAt: timestamp }).optional(),
  epss: z.looseObject({ score: z.number().optional() }).optional(),
  scoreDetails: z
    .looseObject({
      cvss: z
        .looseObject({
          score: z.number().optional(),
          scoringVector: z.string().optional(),
          version: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
  packageVulnerabilityDetails: z.looseObject({
    vulnerabilityId: z.string().min(1),
    cvss: z.array(cvss).optional(),
    sourceUrl: z.string().optional(),
    referenceUrls: z.array(z.string()).optional(),
    vulnerablePackages: z.array(vulnerablePackage).optional(),
  }),
});

const scanFindingsResponse = z.looseObject({
  imageScanStatus: z
    .looseObject({ status: z.string().optional(), description: z.string().optional() })
    .optional(),
  imageScanFindings: z
    .looseObject({
      imageScanCompletedAt: timestamp,
      vulnerabilitySourceUpdatedAt: timestamp,
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

export function normaliseBasicFinding(raw: z.infer<typeof basicFinding>): Finding {
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

export function normaliseInspectorFinding(raw: z.infer<typeof inspectorFindingSchema>): Finding {
  const details = raw.packageVulnerabilityDetails;
  const pkg = details.vulnerablePackages?.[0];
  const scored = raw.scoreDetails?.cvss;
  const best = [...(details.cvss ?? [])].sort(
    (a, b) => Number(b.version ?? 0) - Number(a.version ?? 0),
  )[0];
  const cvssScore =
    scored?.score !== undefined
      ? { score: scored.score, version: scored.version ?? '3', vector: scored.scoringVector }
      : best?.baseScore !== undefined
        ? { score: best.baseScore, version: best.version ?? '3', vector: best.scoringVector }
        : undefined;
  return compact({
    id: details.vulnerabilityId,
    severity: normaliseSeverity(raw.severity),
    title: raw.title,
    cvss: cvssScore && compact(cvssScore),
    package: pkg?.name
      ? compact({ name: pkg.name, version: pkg.version, ecosystem: pkg.packageManager })
      : undefined,
    fixedIn:
      pkg?.fixedInVersion && pkg.fixedInVersion !== 'NotAvailable' ? pkg.fixedInVersion : undefined,
    fixAvailable: raw.fixAvailable === undefined ? undefined : raw.fixAvailable !== 'NO',
    exploitAvailable:
      raw.exploitAvailable === undefined ? undefined : raw.exploitAvailable === 'YES',
    exploitedAt: raw.exploitabilityDetails?.lastKnownExploitAt,
    // A score outside 0..1 is not an EPSS probability: dropped rather than trusted.
    epss:
      raw.epss?.score !== undefined && raw.epss.score >= 0 && raw.epss.score <= 1
        ? raw.epss.score
        : undefined,
    inspectorScore: raw.inspectorScore ?? raw.score,
    link: details.sourceUrl ?? details.referenceUrls?.[0],
    firstObservedAt: raw.firstObservedAt,
  });
}

/** Validates and normalises one Inspector finding (e.g. an "Inspector2 Finding" event detail). */
export function parseInspectorFinding(raw: unknown, source = 'Inspector finding'): Finding {
  const parsed = inspectorFindingSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidFindingsError(
      `${source} is malformed: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      { cause: parsed.error },
    );
  }
  return normaliseInspectorFinding(parsed.data);
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
    scanner: enhanced && enhanced.length > 0 ? 'inspector' : 'ecr-basic',
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
    scanner: pages.some((p) => p.scanner === 'inspector') ? 'inspector' : first.scanner,
    findings: [first, ...rest].flatMap((p) => p.findings),
  };
}

/** Drops undefined properties so stored and compared objects stay minimal and stable. */
export function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
