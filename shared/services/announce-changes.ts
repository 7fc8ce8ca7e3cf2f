import { type Announcement, announcementId } from '../domain/announcement';
import { InvalidEventError } from '../domain/errors';
import { escalationChangeOf } from '../domain/escalation-event';
import { changeOf } from '../domain/verdict-event';

export type { StreamChange } from '../ports/publishing';

import { type Clock, type Log, silentLog, systemClock } from '../ports';
import type {
  IdempotencyStore,
  MessagePublisher,
  RebuildTrigger,
  RecordParking,
  StreamChange,
} from '../ports/publishing';
import { deliverOnce } from './deliver-once';

/** One DynamoDB stream record, its images already unmarshalled. */

export interface AnnounceChangesOptions {
  publisher: MessagePublisher;
  markers: IdempotencyStore;
  trigger: RebuildTrigger;
  /** Without it a malformed record fails its batch like a transient error (replay does this). */
  parking?: RecordParking;
  clock?: Clock;
  log?: Log;
}

export interface AnnounceOutcome {
  published: number;
  /** Transitions already announced by an earlier delivery of the same records. */
  duplicates: number;
  /** Of `published`, VerdictEscalated events. */
  escalations?: number;
  rebuildRequested: boolean;
  /** Records parked for a deterministic failure (bad shape, schema drift). */
  parked: number;
  /**
   * The first record that failed. Stream batches are ordered: Lambda retries from this
   * record on, so nothing after it was attempted.
   */
  failedId?: string;
}

/**
 * The `changes` use case: one verdict event per transition (deduplicated by
 * transition id), and one allowlist rebuild request per batch when the admitted set moved.
 */
export async function announceChanges(
  changes: readonly StreamChange[],
  options: AnnounceChangesOptions,
): Promise<AnnounceOutcome> {
  const log = options.log ?? silentLog;
  const clock = options.clock ?? systemClock;
  const outcome: AnnounceOutcome = {
    published: 0,
    duplicates: 0,
    rebuildRequested: false,
    parked: 0,
  };
  let firstDirty: number | undefined;
  let failedAt: number | undefined;
  // Asked for before announcing: the rebuild is on the path to the gate, and announcing a
  // batch of 100 transitions takes seconds (issue 16, docs/allowlist.md).
  const dirtyAhead = changes.findIndex(isDirty);
  const dirtyKeys = changes.filter(isDirty).flatMap(keyOf);
  let rebuild: 'none' | 'requested' | 'failed' =
    dirtyAhead >= 0
      ? await requestRebuild(changes, dirtyAhead, options, clock, log, dirtyKeys)
      : 'none';

  for (const [index, change] of changes.entries()) {
    try {
      if (change.problem) throw change.problem;
      const { event, allowlistDirty } = changeOf(change.oldItem, change.newItem);
      if (allowlistDirty) firstDirty ??= index;
      // A transition is announced as VerdictChanged; without one, a not-admitted digest
      // that got worse is announced as VerdictEscalated. Both dedupe on their id.
      const escalation = event ? undefined : escalationChangeOf(change.oldItem, change.newItem);
      const announcement: Announcement | undefined = event
        ? { kind: 'VerdictChanged', event }
        : escalation
          ? { kind: 'VerdictEscalated', event: escalation }
          : undefined;
      if (!announcement) continue;
      const published = await publishOnce(announcement, options, clock);
      if (!published) {
        outcome.duplicates += 1;
        continue;
      }
      outcome.published += 1;
      if (event) {
        log.info('verdict event published', {
          transitionId: event.id,
          image: event.image.id,
          verdict: event.verdict,
          previousVerdict: event.previousVerdict,
        });
      } else if (escalation) {
        outcome.escalations = (outcome.escalations ?? 0) + 1;
        log.info('escalation published', {
          id: escalation.id,
          image: escalation.image.id,
          verdict: escalation.verdict,
          newBlocking: escalation.escalation.newBlockingCount,
          newlyExploited: escalation.escalation.newlyExploited.length,
        });
      }
    } catch (error) {
      if (error instanceof InvalidEventError && options.parking) {
        const parkedAt = await park(options.parking, change, error, clock());
        if (parkedAt) {
          outcome.parked += 1;
          // What it would have changed is unknown: rebuilding is always safe.
          firstDirty ??= index;
          log.error('stream record parked: it cannot be announced as it is', {
            sequenceNumber: change.id,
            error: error.message,
          });
          continue;
        }
      }
      failedAt = index;
      log.error('stream record failed; the batch is retried from it', {
        sequenceNumber: change.id,
        error: (error as Error).message,
      });
      break;
    }
  }

  // A parked record may have changed the admitted set without looking dirty beforehand.
  if (firstDirty !== undefined && rebuild === 'none') {
    rebuild = await requestRebuild(changes, firstDirty, options, clock, log);
  }
  outcome.rebuildRequested = rebuild === 'requested';
  if (rebuild === 'failed') {
    // The retry starting at the first dirty record asks again.
    const dirty = Math.min(firstDirty ?? dirtyAhead, dirtyAhead >= 0 ? dirtyAhead : Infinity);
    failedAt = Math.min(failedAt ?? dirty, dirty);
  }
  if (failedAt !== undefined) outcome.failedId = changes[failedAt]?.id;
  return outcome;
}

/** The record's store key (pk), when its images carry one. */
function keyOf(change: StreamChange): string[] {
  const pk = change.newItem?.pk ?? change.oldItem?.pk;
  return typeof pk === 'string' ? [pk] : [];
}

/** Whether a record moves the admitted set; a record that cannot be read is judged in the loop. */
function isDirty(change: StreamChange): boolean {
  if (change.problem) return false;
  try {
    return changeOf(change.oldItem, change.newItem).allowlistDirty;
  } catch {
    return false;
  }
}

async function requestRebuild(
  changes: readonly StreamChange[],
  index: number,
  options: AnnounceChangesOptions,
  clock: Clock,
  log: Log,
  dirty: readonly string[] = [],
): Promise<'requested' | 'failed'> {
  try {
    await options.trigger.requestRebuild(clock(), `stream record ${changes[index]?.id}`, dirty);
    return 'requested';
  } catch (error) {
    log.error('allowlist rebuild request failed', { error: (error as Error).message });
    return 'failed';
  }
}

/** Claim, publish, complete; false when an earlier delivery already published it. */
async function publishOnce(
  announcement: Announcement,
  options: AnnounceChangesOptions,
  clock: Clock,
): Promise<boolean> {
  const id = announcementId(announcement);
  const outcome = await deliverOnce(
    options.markers,
    id,
    clock,
    () => options.publisher.publish(announcement),
    `message ${id} is being announced by another delivery; retry after its lease`,
  );
  return outcome === 'delivered';
}

/** True when parked; a parking failure is transient and retries the record. */
async function park(
  parking: RecordParking,
  change: StreamChange,
  error: InvalidEventError,
  now: Date,
): Promise<boolean> {
  try {
    await parking.park({
      kind: 'ParkedStreamRecord',
      id: change.id,
      reason: error.message,
      parkedAt: now.toISOString(),
      record: change.raw ?? { oldItem: change.oldItem, newItem: change.newItem },
    });
    return true;
  } catch {
    return false;
  }
}
