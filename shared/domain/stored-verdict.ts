import * as z from 'zod';
import { InvalidVerdictError } from './errors';
import { SCANNER_NAME } from './findings';
import { previousEvaluationSchema } from './previous-schema';
import { type Reason, VERDICTS, type VerdictValue } from './verdict';
import type { VerdictRecord } from './verdict-record';

/**
 * Items read back from the verdict table by the questions (explain, search, what-if),
 * checked at that boundary: a table written by another version, or edited by hand, gives
 * a named error naming the item instead of a TypeError in a renderer.
 */
const instant = z.iso.datetime({ offset: true });

const storedVerdictSchema = previousEvaluationSchema.extend({
  registry: z.string().min(1),
  repository: z.string().min(1),
  digest: z.string().min(1),
  tags: z.array(z.string()).default([]),
  mediaType: z.string().optional(),
  scan: z.looseObject({
    state: z.string(),
    status: z.string(),
    scanner: z.string(),
    completedAt: instant.optional(),
    description: z.string().optional(),
    remedy: z.string().optional(),
  }),
  signature: z
    .looseObject({
      status: z.string(),
      signer: z.string().optional(),
      reason: z.string().optional(),
    })
    .optional(),
  // The facts the verdict names: explain reads them to list every finding that decided it.
  facts: z
    .array(
      z.object({
        digest: z.string().min(1),
        scanner: z.string().regex(SCANNER_NAME),
        completedAt: z.string().min(1),
        hash: z.string(),
        count: z.number().int().nonnegative(),
      }),
    )
    .optional(),
  policyHash: z.string().min(1),
  evaluatedAt: instant,
  deletedAt: instant.optional(),
  version: z.number().int().nonnegative(),
  transitionId: z.string().optional(),
  transitionAt: instant.optional(),
  previousVerdict: z.enum(VERDICTS).optional(),
});

/** One transition as the history items keep it (sk `H#<at>#<version>`). */
export interface HistoryEntry {
  at: string;
  verdict: VerdictValue;
  previousVerdict?: VerdictValue;
  deletedAt?: string;
  reasons: Reason[];
  policyHash?: string;
  transitionId?: string;
  version: number;
}

const historySchema = z.object({
  verdict: z.enum(VERDICTS),
  previousVerdict: z.enum(VERDICTS).optional(),
  deletedAt: instant.optional(),
  reasons: previousEvaluationSchema.shape.reasons,
  policyHash: z.string().optional(),
  transitionId: z.string().optional(),
  version: z.number().int().nonnegative(),
});

function fail(source: string, error: z.ZodError): never {
  const issue = error.issues[0];
  throw new InvalidVerdictError(
    `${source} is not a stored verdict: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    { cause: error },
  );
}

/** A CURRENT item without its keys; `source` names it in the error. */
export function parseStoredVerdict(item: unknown, source: string): VerdictRecord {
  const parsed = storedVerdictSchema.safeParse(item);
  if (!parsed.success) fail(source, parsed.error);
  return parsed.data as unknown as VerdictRecord;
}

/** A history item; its time is the one its sort key carries. */
export function parseHistoryEntry(item: unknown, at: string, source: string): HistoryEntry {
  const parsed = historySchema.safeParse(item);
  if (!parsed.success || !instant.safeParse(at).success) {
    if (parsed.success) throw new InvalidVerdictError(`${source}: "${at}" is not a time`);
    fail(source, parsed.error);
  }
  const { previousVerdict, deletedAt, policyHash, transitionId, ...rest } = parsed.data;
  return {
    at,
    ...rest,
    reasons: rest.reasons as Reason[],
    ...(previousVerdict && { previousVerdict }),
    ...(deletedAt && { deletedAt }),
    ...(policyHash && { policyHash }),
    ...(transitionId && { transitionId }),
  };
}
