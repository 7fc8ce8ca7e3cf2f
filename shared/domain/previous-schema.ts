import * as z from 'zod';
import { readBlockingFacts } from './blocking-facts';
import { InvalidVerdictError } from './errors';
import type { PreviousEvaluation } from './evaluate';
import { SEVERITIES } from './severity';
import { VERDICTS } from './verdict';

/**
 * The part of a previous verdict evaluation reads, checked at the boundary (`evaluate
 * --previous`): a malformed file is a named error, not a TypeError deep in the evaluator.
 * Other fields of a stored record pass through unread.
 */
const instant = z.iso.datetime({ offset: true });
const severity = z.enum(SEVERITIES);

/**
 * Finding id -> first seen. Not z.record: its output is a plain object filled by
 * assignment, which drops a `__proto__` id; fromEntries keeps every id an own key.
 */
const findingClock = z
  .array(z.tuple([z.string(), instant]))
  .transform((pairs) => Object.fromEntries(pairs) as Record<string, string>);
const clockOf = z.unknown().transform((value, ctx) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'expected an object of finding id -> ISO time' });
    return z.NEVER;
  }
  const parsed = findingClock.safeParse(Object.entries(value));
  if (!parsed.success) {
    ctx.addIssue({ code: 'custom', message: 'every value must be an ISO 8601 time' });
    return z.NEVER;
  }
  return parsed.data;
});

const reason = z.object({
  // Any code: a verdict written by another version may carry codes this one does not know.
  code: z.string().min(1),
  effect: z.enum(['fail', 'error', 'pending', 'warn', 'info']),
  message: z.string(),
  findings: z.array(z.string()).optional(),
  deadline: instant.optional(),
  exception: z.object({ id: z.string(), owner: z.string(), expiresAt: instant }).optional(),
  platform: z.string().optional(),
});

const findingSummary = z.object({
  id: z.string(),
  severity,
  cvss: z
    .object({ score: z.number(), version: z.string(), vector: z.string().optional() })
    .optional(),
  package: z
    .object({ name: z.string(), version: z.string().optional(), ecosystem: z.string().optional() })
    .optional(),
  fixedIn: z.string().optional(),
  fixAvailable: z.boolean().optional(),
  exploitAvailable: z.boolean().optional(),
  exploited: z.boolean().optional(),
  epss: z.number().optional(),
  link: z.string().optional(),
  blocking: z.boolean(),
});

export const previousEvaluationSchema = z.object({
  verdict: z.enum(VERDICTS),
  reasons: z.array(reason).default([]),
  severityCounts: z.partialRecord(severity, z.number().int().nonnegative()).optional(),
  maxSeverity: z.union([severity, z.literal('NONE')]).optional(),
  topFindings: z.array(findingSummary).optional(),
  findingClock: clockOf.default({}),
  admittedAt: instant.optional(),
  deadline: instant.optional(),
  expiresAt: instant.optional(),
  scannedAt: instant.optional(),
  // A malformed sketch only loses the carry-over of what blocked: read leniently.
  blocking: z.unknown().transform(readBlockingFacts).optional(),
});

/** Parses a previous verdict; throws InvalidVerdictError naming the first bad field. */
export function parsePreviousEvaluation(
  value: unknown,
  source = 'previous verdict',
): PreviousEvaluation {
  const parsed = previousEvaluationSchema.safeParse(value);
  if (parsed.success) return parsed.data as PreviousEvaluation;
  const issues = parsed.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  const more = parsed.error.issues.length - issues.length;
  throw new InvalidVerdictError(
    `${source} is not a verdict: ${issues.join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
    { cause: parsed.error },
  );
}
