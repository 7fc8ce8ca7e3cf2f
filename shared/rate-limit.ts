import { ConfigError } from './domain/errors';
import { type Clock, systemClock } from './ports';
import { sleep as realSleep } from './retry';

/** A sustained rate and how many calls may go at once after a quiet spell. */
export interface RateLimit {
  perSecond: number;
  /** Calls allowed back to back; 1 (the default) spaces every call evenly. */
  burst?: number;
}

export interface PaceOptions {
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * A token bucket in its GCRA form (a theoretical arrival time instead of a token count),
 * in whole milliseconds so a simulated clock gives exact answers: in any window of one
 * second at most `ceil(perSecond) + burst - 1` calls pass. Each caller reserves its slot
 * before it waits, so concurrent callers are served in the order they asked.
 */
export class TokenBucket {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private readonly clock: Clock;
  private readonly sleep: (ms: number) => Promise<void>;
  private arrival = Number.NEGATIVE_INFINITY;

  constructor(limit: RateLimit, options: PaceOptions = {}) {
    const burst = validRateLimit(limit).burst ?? 1;
    // Rounded up: never faster than asked, at the cost of a hair slower.
    this.intervalMs = Math.ceil(1000 / limit.perSecond);
    this.toleranceMs = (burst - 1) * this.intervalMs;
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? realSleep;
  }

  /** Waits until the next call may go. */
  async take(): Promise<void> {
    const now = this.clock().getTime();
    const at = Math.max(now, this.arrival - this.toleranceMs);
    this.arrival = Math.max(this.arrival, at) + this.intervalMs;
    if (at > now) await this.sleep(at - now);
  }
}

export function validRateLimit(limit: RateLimit): RateLimit {
  if (!(limit.perSecond > 0) || !Number.isFinite(limit.perSecond)) {
    throw new ConfigError(`rate ${limit.perSecond}/s: use a positive number of calls per second`);
  }
  const burst = limit.burst ?? 1;
  if (!Number.isInteger(burst) || burst < 1) {
    throw new ConfigError(`burst ${burst}: use a whole number of calls, at least 1`);
  }
  return limit;
}

/** One bucket per API name; APIs without a limit of their own share `fallback`'s rate. */
export class ApiPacer {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly limits: Readonly<Record<string, RateLimit>>,
    private readonly options: PaceOptions & { fallback?: RateLimit } = {},
  ) {}

  take(api: string): Promise<void> {
    let bucket = this.buckets.get(api);
    if (!bucket) {
      const limit = this.limits[api] ?? this.options.fallback;
      if (!limit) return Promise.resolve();
      bucket = new TokenBucket(limit, this.options);
      this.buckets.set(api, bucket);
    }
    return bucket.take();
  }

  limitOf(api: string): RateLimit | undefined {
    return this.limits[api] ?? this.options.fallback;
  }
}

const ENTRY = /^([A-Za-z][A-Za-z0-9]*)=(\d+(?:\.\d+)?)(?:\/(\d+))?$/;

/**
 * Parses `DescribeImages=10,StartImageScan=2/5` (calls per second, optional `/burst`),
 * the form the RATE_LIMITS variable and `--rates` take.
 */
export function parseRateLimits(text: string): Record<string, RateLimit> {
  // Api names come from configuration: no prototype to find `constructor` in.
  const limits: Record<string, RateLimit> = Object.create(null);
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const match = ENTRY.exec(entry);
    if (!match?.[1] || !match[2]) {
      throw new ConfigError(
        `rate limit "${entry}": write Api=callsPerSecond or Api=callsPerSecond/burst, e.g. DescribeImages=10`,
      );
    }
    const limit: RateLimit = { perSecond: Number(match[2]) };
    if (match[3]) limit.burst = Number(match[3]);
    limits[match[1]] = validRateLimit(limit);
  }
  return limits;
}
