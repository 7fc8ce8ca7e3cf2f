import { ConfigError } from '../../shared/domain/errors';
import { ApiPacer, parseRateLimits, type RateLimit, TokenBucket } from '../../shared/rate-limit';
import { VirtualTime } from '../support/virtual-time';

/** Most calls in any window of one second (sliding, not only aligned). */
function busiestSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] ?? 0) - (sorted[start] ?? 0) >= 1000) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

async function callTimes(limit: RateLimit, calls: number, callers: number): Promise<number[]> {
  const time = new VirtualTime('2026-11-23T02:00:00Z');
  const bucket = new TokenBucket(limit, { clock: time.clock, sleep: time.sleep });
  const times: number[] = [];
  await time.run(async () => {
    let left = calls;
    await Promise.all(
      Array.from({ length: callers }, async () => {
        while (left > 0) {
          left--;
          await bucket.take();
          times.push(time.now());
        }
      }),
    );
  });
  return times;
}

describe('TokenBucket', () => {
  it.each<[string, RateLimit, number]>([
    ['10/s, evenly spaced', { perSecond: 10 }, 10],
    ['3/s (interval rounds up to 334 ms)', { perSecond: 3 }, 3],
    ['0.5/s', { perSecond: 0.5 }, 1],
    ['50/s with a burst of 5', { perSecond: 50, burst: 5 }, 54],
    ['7/s, burst 3', { perSecond: 7, burst: 3 }, 9],
  ])('%s: never more than ceil(rate) + burst - 1 calls in any second', async (_, limit, most) => {
    const times = await callTimes(limit, 200, 8);
    expect(times).toHaveLength(200);
    expect(busiestSecond(times)).toBeLessThanOrEqual(most);
    // And not slower than the rate allows: 200 calls take about 200 / rate seconds.
    const span = (Math.max(...times) - Math.min(...times)) / 1000;
    const burst = limit.burst ?? 1;
    expect(span).toBeGreaterThanOrEqual((200 - burst) / limit.perSecond - 0.001);
    expect(span).toBeLessThanOrEqual((200 - burst) / limit.perSecond + 1);
  });

  it('serves concurrent callers in the order they asked', async () => {
    const time = new VirtualTime(0);
    const bucket = new TokenBucket({ perSecond: 2 }, { clock: time.clock, sleep: time.sleep });
    const order: number[] = [];
    await time.run(() =>
      Promise.all([1, 2, 3, 4].map((n) => bucket.take().then(() => order.push(n)))),
    );
    expect(order).toEqual([1, 2, 3, 4]);
    expect(time.now()).toBe(1500);
  });

  it('refills after a quiet spell, up to its burst', async () => {
    const time = new VirtualTime(0);
    const bucket = new TokenBucket(
      { perSecond: 1, burst: 3 },
      { clock: time.clock, sleep: time.sleep },
    );
    const at: number[] = [];
    await time.run(async () => {
      for (let i = 0; i < 4; i++) await bucket.take().then(() => at.push(time.now()));
      await time.sleep(60_000);
      for (let i = 0; i < 4; i++) await bucket.take().then(() => at.push(time.now()));
    });
    expect(at).toEqual([0, 0, 0, 1000, 61000, 61000, 61000, 62000]);
  });

  it.each([
    [{ perSecond: 0 }, 'positive number'],
    [{ perSecond: Number.NaN }, 'positive number'],
    [{ perSecond: 5, burst: 0 }, 'at least 1'],
    [{ perSecond: 5, burst: 1.5 }, 'whole number'],
  ])('refuses %j', (limit, message) => {
    expect(() => new TokenBucket(limit)).toThrow(ConfigError);
    expect(() => new TokenBucket(limit)).toThrow(message);
  });
});

describe('ApiPacer', () => {
  it('keeps one bucket per API, so a slow API does not hold up a fast one', async () => {
    const time = new VirtualTime(0);
    const pacer = new ApiPacer(
      { StartImageScan: { perSecond: 1 }, SendMessageBatch: { perSecond: 100 } },
      { clock: time.clock, sleep: time.sleep },
    );
    const done: Record<string, number> = {};
    await time.run(() =>
      Promise.all([
        (async () => {
          for (let i = 0; i < 3; i++) await pacer.take('StartImageScan');
          done.scans = time.now();
        })(),
        (async () => {
          for (let i = 0; i < 100; i++) await pacer.take('SendMessageBatch');
          done.sends = time.now();
        })(),
      ]),
    );
    expect(done).toEqual({ scans: 2000, sends: 990 });
  });

  it('paces APIs without a limit of their own at the fallback rate, or not at all', async () => {
    const time = new VirtualTime(0);
    const paced = new ApiPacer(
      {},
      { clock: time.clock, sleep: time.sleep, fallback: { perSecond: 2 } },
    );
    const free = new ApiPacer({}, { clock: time.clock, sleep: time.sleep });
    await time.run(async () => {
      for (let i = 0; i < 5; i++) await free.take('GetItem');
    });
    expect(time.now()).toBe(0);
    await time.run(async () => {
      for (let i = 0; i < 5; i++) await paced.take('GetItem');
    });
    expect(time.now()).toBe(2000);
    expect(paced.limitOf('GetItem')).toEqual({ perSecond: 2 });
  });
});

describe('parseRateLimits', () => {
  it.each<[string, Record<string, RateLimit>]>([
    ['DescribeImages=10', { DescribeImages: { perSecond: 10 } }],
    [
      ' StartImageScan=2/5 , SendMessageBatch=0.5 ,',
      { StartImageScan: { perSecond: 2, burst: 5 }, SendMessageBatch: { perSecond: 0.5 } },
    ],
    ['', {}],
  ])('%j', (text, limits) => {
    expect(parseRateLimits(text)).toEqual(limits);
  });

  it.each(['DescribeImages', 'DescribeImages=fast', 'DescribeImages=0', '=5', 'A=1/0'])(
    'refuses %j, saying how to write it',
    (text) => {
      expect(() => parseRateLimits(text)).toThrow(ConfigError);
    },
  );
});
