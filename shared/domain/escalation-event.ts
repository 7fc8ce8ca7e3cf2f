import { createHash } from 'node:crypto';
import { type Escalation, escalationOf, readBlockingFacts } from './blocking-facts';
import { imageId } from './image-ref';
import { type FindingSummary, isAdmitted } from './verdict';
import {
  type CurrentItem,
  currentItemOf,
  type VerdictEvent,
  verdictEventOf,
} from './verdict-event';

/**
 * A digest that stays not admitted got worse: a new blocking finding, a higher blocking
 * severity, or a blocking finding now known exploited (docs/events.md).
 */
export interface EscalationEvent extends Omit<VerdictEvent, 'kind' | 'previousVerdict'> {
  kind: 'VerdictEscalated';
  /** The verdict's last transition (the VerdictChanged event this one follows). */
  transitionId: string;
  escalation: Escalation;
  /** topFindings entries that are new or newly exploited (at most 10, as topFindings). */
  newFindings: FindingSummary[];
}

const MAX_NAMED = 20;

/** One id per record version: a redelivered or replayed stream record gives the same id. */
export function escalationIdOf(item: CurrentItem): string {
  return createHash('sha256')
    .update(`${imageId(item)}#${item.version}#escalated`)
    .digest('hex')
    .slice(0, 32);
}

/**
 * The escalation a stream record carries, if any: both images are CURRENT verdicts of one
 * digest, the newer has a higher version, no transition happened between them (that is a
 * VerdictChanged), the digest is not admitted and not deleted, and what blocks got worse.
 */
export function escalationEventOf(
  before: CurrentItem | undefined,
  after: CurrentItem | undefined,
  admitted: boolean,
): EscalationEvent | undefined {
  if (!before || !after || admitted || after.deletedAt) return undefined;
  if (after.transitionId !== before.transitionId || after.version <= before.version) {
    return undefined;
  }
  const escalation = escalationOf(
    readBlockingFacts(before.blocking),
    readBlockingFacts(after.blocking),
  );
  if (!escalation) return undefined;
  const {
    apiVersion,
    kind: _kind,
    previousVerdict: _previous,
    ...base
  } = verdictEventOf(after, false);
  const named = new Set([...escalation.newBlocking, ...escalation.newlyExploited]);
  return {
    apiVersion,
    kind: 'VerdictEscalated',
    ...base,
    id: escalationIdOf(after),
    time: after.evaluatedAt,
    transitionId: after.transitionId ?? '',
    escalation: {
      ...escalation,
      newBlocking: escalation.newBlocking.slice(0, MAX_NAMED),
      newlyExploited: escalation.newlyExploited.slice(0, MAX_NAMED),
    },
    newFindings: after.topFindings.filter((f) => named.has(f.id)),
  };
}

/** The escalation of one stream record's old and new images (unmarshalled), if any. */
export function escalationChangeOf(
  oldItem: Record<string, unknown> | undefined,
  newItem: Record<string, unknown> | undefined,
): EscalationEvent | undefined {
  const after = currentItemOf(newItem);
  if (!after) return undefined;
  const admitted = after.admitted !== undefined || isAdmitted(after.verdict);
  return escalationEventOf(currentItemOf(oldItem), after, admitted);
}
