import * as z from 'zod';
import { isDuration, parseDuration } from './domain/duration';
import { parseEcrRegistry } from './domain/image-ref';
import { parseRateLimits } from './rate-limit';

const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text) =>
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine(isDuration, 'expected a duration such as 30m, 24h or 1d')
    .transform(parseDuration);

/** Digits only: `1e3`, `0x10`, ` 5` or an empty value are refused, not read as numbers. */
const wholeIn = (min: number, max: number) => {
  const message = `expected a whole number from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d+$/, message)
    .transform(Number)
    .pipe(z.number().min(min, message).max(max, message));
};

const whole = (fallback: number, min: number, max: number) => wholeIn(min, max).default(fallback);

const queueUrl = z.url({
  error: 'expected a queue URL, https://sqs.<region>.amazonaws.com/<account>/<name>',
});

/**
 * Environment of the rescan-planner function (docs/rescans.md lists each variable); the CLI's
 * `rescan` reads its flags through it too (cli/commands/rescan.ts), so both accept the same
 * values and say the same about the others.
 */
export const rescanEnvironment = z.object({
  TABLE_NAME: z
    .string()
    .min(3, 'a DynamoDB table name has 3 to 255 characters')
    .max(255, 'a DynamoDB table name has 3 to 255 characters'),
  EVALUATE_QUEUE_URL: queueUrl,
  CONTINUATION_QUEUE_URL: queueUrl,
  POLICY_FILE: z.string().min(1).optional(),
  POLICY_JSON: z.string().min(1).optional(),
  SCANNING_MODE: z.enum(['basic', 'enhanced'], { error: 'use basic or enhanced' }).default('basic'),
  AWS_REGION: z.string().min(1),
  REGISTRIES: list('').refine(
    (hosts) => hosts.every((h) => parseEcrRegistry(h)),
    'expected ECR registry hosts: <account>.dkr.ecr.<region>.amazonaws.com, comma-separated',
  ),
  REPOSITORIES: list('**'),
  RATE_LIMITS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      try {
        return parseRateLimits(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  TABLE_SCAN_SEGMENTS: z
    .union([z.literal('auto'), wholeIn(1, 64)], { error: 'use 1 to 64, or auto' })
    .default('auto'),
  SCAN_RENEW_AHEAD: duration('1d'),
  MAX_SCANS_PER_RUN: whole(50_000, 0, 100_000),
  SCAN_SETTLE_SECONDS: whole(300, 0, 900),
  RESERVE_SECONDS: whole(60, 10, 600),
  MAX_RUN_AGE: duration('20h'),
  /** When set, the daily digest goes to this topic at the end of each run. */
  VERDICT_TOPIC_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:/, 'expected an SNS topic ARN')
    .optional(),
});

export type RescanEnvironment = z.infer<typeof rescanEnvironment>;
