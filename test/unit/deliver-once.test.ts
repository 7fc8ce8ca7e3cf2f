import { StoreConflictError } from '../../shared/domain/errors';
import type { ClaimResult, IdempotencyStore } from '../../shared/ports/publishing';
import { deliverOnce } from '../../shared/services/deliver-once';

const NOW = new Date('2026-12-04T04:00:00.000Z');

/** Markers that answer `claim` with `answer` and record every call. */
function markers(answer: ClaimResult): IdempotencyStore & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    claim: async (key, now) => {
      calls.push(`claim ${key} ${now.toISOString()}`);
      return answer;
    },
    complete: async (key) => {
      calls.push(`complete ${key}`);
    },
    release: async (key) => {
      calls.push(`release ${key}`);
    },
  };
}

describe('deliverOnce: claim, deliver, complete; a failure gives the claim back', () => {
  it('delivers a claimed id once and completes it', async () => {
    const store = markers('claimed');
    const delivered: string[] = [];
    const outcome = await deliverOnce(
      store,
      'T1',
      () => NOW,
      async () => {
        delivered.push('T1');
      },
      'busy',
    );
    expect(outcome).toBe('delivered');
    expect(delivered).toEqual(['T1']);
    expect(store.calls).toEqual([`claim T1 ${NOW.toISOString()}`, 'complete T1']);
  });

  it('does not deliver an id an earlier delivery completed', async () => {
    const store = markers('done');
    const deliver = jest.fn(async () => {});
    await expect(deliverOnce(store, 'T1', () => NOW, deliver, 'busy')).resolves.toBe('duplicate');
    expect(deliver).not.toHaveBeenCalled();
    expect(store.calls).toEqual([`claim T1 ${NOW.toISOString()}`]);
  });

  it('refuses an id another delivery holds, with the caller’s message', async () => {
    const store = markers('busy');
    const deliver = jest.fn(async () => {});
    const attempt = deliverOnce(store, 'T1', () => NOW, deliver, 'T1 is being sent; retry later');
    await expect(attempt).rejects.toThrow(StoreConflictError);
    await expect(
      deliverOnce(store, 'T1', () => NOW, deliver, 'T1 is being sent; retry later'),
    ).rejects.toThrow('T1 is being sent; retry later');
    expect(deliver).not.toHaveBeenCalled();
    expect(store.calls.filter((c) => !c.startsWith('claim'))).toEqual([]);
  });

  it('releases the claim when the delivery fails, and rethrows its error', async () => {
    const store = markers('claimed');
    const failure = new Error('channel down');
    await expect(
      deliverOnce(
        store,
        'T1',
        () => NOW,
        async () => {
          throw failure;
        },
        'busy',
      ),
    ).rejects.toBe(failure);
    expect(store.calls).toEqual([`claim T1 ${NOW.toISOString()}`, 'release T1']);
  });

  it('keeps the delivery’s error when the release fails too', async () => {
    const store = markers('claimed');
    store.release = async () => {
      throw new Error('table down');
    };
    await expect(
      deliverOnce(
        store,
        'T1',
        () => NOW,
        async () => {
          throw new Error('channel down');
        },
        'busy',
      ),
    ).rejects.toThrow('channel down');
  });
});
