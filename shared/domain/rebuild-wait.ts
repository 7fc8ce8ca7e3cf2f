/** When an allowlist build may start (docs/allowlist.md, "When it is rebuilt"). */
export interface RebuildTiming {
  now: number;
  /** The latest `notBefore` of the requests in the batch (end of their debounce window). */
  notBefore?: number;
  /** Longest wait for `notBefore` (the queue's delivery delay should already cover it). */
  maxWaitMs: number;
  /** When this writer last started a build that published; undefined after a cold start. */
  lastBuildAt?: number;
  /** Shortest time between the starts of two builds. */
  minIntervalMs: number;
}

/**
 * How long to wait before building: until the debounce window closed, and until
 * `minIntervalMs` has passed since the last build started. After a quiet spell the build
 * starts at once; under load every change waiting meanwhile goes into one build at the end
 * of the gap, so builds start at least `minIntervalMs` apart (a build slower than the gap
 * is followed at once: the rate is one per max(gap, build time)).
 */
export function rebuildWaitMs(t: RebuildTiming): number {
  const window = t.notBefore === undefined ? 0 : Math.min(t.notBefore - t.now, t.maxWaitMs);
  const gap = t.lastBuildAt === undefined ? 0 : t.lastBuildAt + t.minIntervalMs - t.now;
  return Math.max(0, window, Math.min(gap, t.minIntervalMs));
}
