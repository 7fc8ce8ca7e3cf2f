import { InvalidDurationError } from './errors';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)([dhms])$/;

/** Parses `7d`, `24h`, `30m`, `0d` into milliseconds. */
export function parseDuration(value: string): number {
  const match = DURATION.exec(value.trim());
  if (!match?.[1] || !match[2]) throw new InvalidDurationError(value);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

export function isDuration(value: string): boolean {
  return DURATION.test(value.trim());
}

export const DAY_MS = UNIT_MS.d;
