import * as z from 'zod';
import { InvalidFindingsError } from '../../domain/errors';
import { compact, type Finding } from '../../domain/findings';
import { normaliseSeverity } from '../../domain/severity';
import { parseTimestamp } from './timestamps';

/** The scanner name Inspector (ECR enhanced scanning) findings are stored under. */
export const INSPECTOR = 'inspector';

/** Inspector's timestamps: ISO text, epoch seconds or a Date (the SDK's); ISO text out. */
export const awsTimestamp = z
  .unknown()
  .transform((v) => parseTimestamp(v)?.toISOString())
  .optional();

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
const adjustedCvss = z.looseObject({
  score: z.number().optional(),
  scoringVector: z.string().optional(),
  version: z.string().optional(),
});
/** Inspector's finding shape: ECR's enhancedFindings[] and the "Inspector2 Finding" event detail. */
export const inspectorFindingSchema = z.looseObject({
  title: z.string().optional(),
  severity: z.string().optional(),
  score: z.number().optional(),
  inspectorScore: z.number().optional(),
  firstObservedAt: awsTimestamp,
  fixAvailable: z.string().optional(),
  exploitAvailable: z.string().optional(),
  exploitabilityDetails: z.looseObject({ lastKnownExploitAt: awsTimestamp }).optional(),
  epss: z.looseObject({ score: z.number().optional() }).optional(),
  scoreDetails: z.looseObject({ cvss: adjustedCvss.optional() }).optional(),
  // Inspector's own name for what ECR calls scoreDetails.cvss (API Finding, events).
  inspectorScoreDetails: z.looseObject({ adjustedCvss: adjustedCvss.optional() }).optional(),
  packageVulnerabilityDetails: z.looseObject({
    vulnerabilityId: z.string().min(1),
    cvss: z.array(cvss).optional(),
    sourceUrl: z.string().optional(),
    referenceUrls: z.array(z.string()).optional(),
    vulnerablePackages: z.array(vulnerablePackage).optional(),
  }),
});

export function normaliseInspectorFinding(raw: z.infer<typeof inspectorFindingSchema>): Finding {
  const details = raw.packageVulnerabilityDetails;
  const pkg = details.vulnerablePackages?.[0];
  const scored = raw.scoreDetails?.cvss ?? raw.inspectorScoreDetails?.adjustedCvss;
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
