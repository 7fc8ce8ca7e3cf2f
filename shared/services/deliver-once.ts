import { StoreConflictError } from '../domain/errors';
import type { Clock } from '../ports';
import type { IdempotencyStore } from '../ports/publishing';

/**
 * At most once per id once delivered: claim the id's marker, deliver, complete it. A failed
 * delivery gives the claim back, so a retry may deliver; a claim another delivery holds is a
 * StoreConflictError with `busy` as its message (retried later). `duplicate`: an earlier
 * delivery completed.
 */
export async function deliverOnce(
  markers: IdempotencyStore,
  id: string,
  clock: Clock,
  deliver: () => Promise<void>,
  busy: string,
): Promise<'delivered' | 'duplicate'> {
  const claim = await markers.claim(id, clock());
  if (claim === 'done') return 'duplicate';
  if (claim === 'busy') throw new StoreConflictError(busy);
  try {
    await deliver();
  } catch (error) {
    await markers.release(id).catch(() => undefined);
    throw error;
  }
  await markers.complete(id, clock());
  return 'delivered';
}
