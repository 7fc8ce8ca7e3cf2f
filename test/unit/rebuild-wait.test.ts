import { rebuildWaitMs } from '../../shared/domain/rebuild-wait';

const T = 1_796_000_000_000;

describe('rebuildWaitMs: debounce window, then the gap since the last build started', () => {
  it('builds at once after a quiet spell or a cold start', () => {
    expect(rebuildWaitMs({ now: T, maxWaitMs: 1_000, minIntervalMs: 5_000 })).toBe(0);
    expect(
      rebuildWaitMs({
        now: T,
        maxWaitMs: 1_000,
        minIntervalMs: 5_000,
        lastBuildAt: T - 60_000,
      }),
    ).toBe(0);
  });

  it('waits for the rest of the gap when the last build started recently', () => {
    expect(
      rebuildWaitMs({ now: T, maxWaitMs: 1_000, minIntervalMs: 5_000, lastBuildAt: T - 1_500 }),
    ).toBe(3_500);
  });

  it('waits for the debounce window to close, at most maxWaitMs', () => {
    expect(rebuildWaitMs({ now: T, notBefore: T + 400, maxWaitMs: 1_000, minIntervalMs: 0 })).toBe(
      400,
    );
    expect(
      rebuildWaitMs({ now: T, notBefore: T + 90_000, maxWaitMs: 1_000, minIntervalMs: 0 }),
    ).toBe(1_000);
    expect(rebuildWaitMs({ now: T, notBefore: T - 400, maxWaitMs: 1_000, minIntervalMs: 0 })).toBe(
      0,
    );
  });

  it('takes the longer of window and gap', () => {
    const timing = { now: T, maxWaitMs: 30_000, minIntervalMs: 5_000, lastBuildAt: T - 4_000 };
    expect(rebuildWaitMs({ ...timing, notBefore: T + 200 })).toBe(1_000);
    expect(rebuildWaitMs({ ...timing, notBefore: T + 2_000 })).toBe(2_000);
  });

  it('never waits longer than the gap for a build stamped in the future (clock skew)', () => {
    expect(
      rebuildWaitMs({
        now: T,
        maxWaitMs: 1_000,
        minIntervalMs: 5_000,
        lastBuildAt: T + 60_000,
      }),
    ).toBe(5_000);
  });
});
