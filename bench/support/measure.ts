import { performance } from 'node:perf_hooks';

/** Median wall time of `fn` over `runs` runs after `warmup` unmeasured ones, in ms. */
export async function medianMs(fn: () => unknown, runs = 15, warmup = 3): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

export function fmt(value: number, digits = 2): string {
  return value.toFixed(digits);
}
