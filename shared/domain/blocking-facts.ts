import { createHash } from 'node:crypto';
import * as z from 'zod';
import { maxSeverity, SEVERITIES, type Severity, severityRank } from './severity';

/**
 * What blocked a verdict, compact enough for every CURRENT item: the stream's old and new
 * images can then say "it got worse" without reading anything else (docs/events.md,
 * VerdictEscalated). Ids are a bottom-k sketch: the BLOCKING_IDS_CAP ids with the smallest
 * hashes, sorted by hash, so two versions of one digest keep comparable subsets.
 */
export interface BlockingFacts {
  /** Distinct blocking finding ids (all of them, not only those listed). */
  count: number;
  /** Highest severity among blocking findings. */
  maxSeverity: Severity | 'NONE';
  /** Blocking ids, the BLOCKING_IDS_CAP with the smallest hashes, in hash order. */
  ids: string[];
  /** Blocking ids known to be exploited, sketched the same way. */
  exploited: string[];
}

export const BLOCKING_IDS_CAP = 100;

/** Order-free and spread: the sketch keeps the same ids whatever order the scanner lists them in. */
function hashOf(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 16);
}

function sketch(ids: Iterable<string>): string[] {
  return [...new Set(ids)]
    .map((id) => [hashOf(id), id] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .slice(0, BLOCKING_IDS_CAP)
    .map(([, id]) => id);
}

export interface JudgedId {
  id: string;
  severity: Severity;
  blocking: boolean;
  exploited?: boolean;
}

export function blockingFactsOf(judged: Iterable<JudgedId>): BlockingFacts {
  const ids = new Set<string>();
  const exploited = new Set<string>();
  const severities: Severity[] = [];
  for (const j of judged) {
    if (!j.blocking) continue;
    ids.add(j.id);
    severities.push(j.severity);
    if (j.exploited) exploited.add(j.id);
  }
  return {
    count: ids.size,
    maxSeverity: maxSeverity(severities) ?? 'NONE',
    ids: sketch(ids),
    exploited: sketch(exploited),
  };
}

/** Both sides' facts together (an index judged partly from carried facts). */
export function mergeBlockingFacts(a: BlockingFacts, b: BlockingFacts): BlockingFacts {
  const severities = [a.maxSeverity, b.maxSeverity].filter((s): s is Severity => s !== 'NONE');
  return {
    count: Math.max(a.count, b.count, new Set([...a.ids, ...b.ids]).size),
    maxSeverity: maxSeverity(severities) ?? 'NONE',
    ids: sketch([...a.ids, ...b.ids]),
    exploited: sketch([...a.exploited, ...b.exploited]),
  };
}

/** What got worse between two versions of a not-admitted digest. */
export interface Escalation {
  /** Blocking ids certainly absent before (named when the sketches can tell). */
  newBlocking: string[];
  /** At least this many blocking findings are new (more than named when over the cap). */
  newBlockingCount: number;
  /** Blocking ids now known exploited that were not before. */
  newlyExploited: string[];
  /** Set when the highest blocking severity rose. */
  maxSeverity?: { from: Severity | 'NONE'; to: Severity | 'NONE' };
}

/**
 * Ids of `after` certainly not in the set `before` sketches: `before` lists its whole set
 * (count within the cap), or the id hashes below the largest hash `before` kept (bottom-k:
 * had it been in that set, it would have been kept).
 */
function certainlyNew(after: string[], before: string[], beforeComplete: boolean): string[] {
  const kept = new Set(before);
  const last = before[before.length - 1];
  const threshold = last === undefined ? undefined : hashOf(last);
  return after.filter(
    (id) =>
      !kept.has(id) && (beforeComplete || (threshold !== undefined && hashOf(id) < threshold)),
  );
}

/**
 * Compares the blocking facts of two versions. Undefined when nothing got worse, or when
 * `before` has none (a record written before they existed: no basis, so no alert flood).
 */
export function escalationOf(
  before: BlockingFacts | undefined,
  after: BlockingFacts | undefined,
): Escalation | undefined {
  if (!before || !after) return undefined;
  const newBlocking = certainlyNew(after.ids, before.ids, before.count <= before.ids.length);
  const newBlockingCount = Math.max(newBlocking.length, after.count - before.count, 0);
  const exploitedComplete = before.exploited.length < BLOCKING_IDS_CAP;
  const newlyExploited = certainlyNew(after.exploited, before.exploited, exploitedComplete);
  const rose = rankOf(after.maxSeverity) > rankOf(before.maxSeverity);
  if (newBlockingCount === 0 && newlyExploited.length === 0 && !rose) return undefined;
  return {
    newBlocking,
    newBlockingCount,
    newlyExploited,
    ...(rose && { maxSeverity: { from: before.maxSeverity, to: after.maxSeverity } }),
  };
}

const rankOf = (s: Severity | 'NONE') => (s === 'NONE' ? -1 : severityRank(s));

const severityOrNone = z.enum([...SEVERITIES, 'NONE']);
const blockingFactsSchema = z.object({
  count: z.number().int().nonnegative(),
  maxSeverity: severityOrNone,
  ids: z.array(z.string()).max(BLOCKING_IDS_CAP),
  exploited: z.array(z.string()).max(BLOCKING_IDS_CAP),
});

/** A stored `blocking` attribute, or undefined when absent or not one (never a reason to fail). */
export function readBlockingFacts(value: unknown): BlockingFacts | undefined {
  const parsed = blockingFactsSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
