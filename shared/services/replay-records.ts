import {
  type AnnounceChangesOptions,
  announceChanges,
  type StreamChange,
} from './announce-changes';

/** One kept object: a parked record or a Lambda on-failure batch. */
export type { KeptObject } from '../ports/publishing';

import type { KeptObject } from '../ports/publishing';

export interface ReplayOutcome {
  name: string;
  records: number;
  published: number;
  duplicates: number;
  /** Records that failed again (still unreadable, or the publisher failed): kept, reported. */
  failed: string[];
  /** Why the object itself could not be read. */
  error?: string;
}

/**
 * Republishes kept stream records through the path `changes` uses (transition ids claimed
 * in the same idempotency store), so records announced before are not announced twice.
 * Without parking: a record that still cannot be read is reported, and the next one goes on.
 */
export async function replayRecords(
  objects: AsyncIterable<KeptObject> | Iterable<KeptObject>,
  options: Omit<AnnounceChangesOptions, 'parking'> & {
    /** The records of one object as changes; throws when the object cannot be read. */
    read(object: KeptObject): StreamChange[];
  },
): Promise<ReplayOutcome[]> {
  const { read, ...announce } = options;
  const outcomes: ReplayOutcome[] = [];
  for await (const object of objects) {
    const outcome: ReplayOutcome = {
      name: object.name,
      records: 0,
      published: 0,
      duplicates: 0,
      failed: [],
    };
    outcomes.push(outcome);
    let changes: StreamChange[];
    try {
      changes = read(object);
    } catch (error) {
      outcome.error = (error as Error).message;
      continue;
    }
    outcome.records = changes.length;
    let rest = changes;
    while (rest.length > 0) {
      const result = await announceChanges(rest, announce);
      outcome.published += result.published;
      outcome.duplicates += result.duplicates;
      const at =
        result.failedId === undefined ? -1 : rest.findIndex((c) => c.id === result.failedId);
      if (at < 0) break;
      outcome.failed.push(result.failedId as string);
      rest = rest.slice(at + 1);
    }
  }
  return outcomes;
}
