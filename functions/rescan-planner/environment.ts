import * as z from 'zod';
import { isDuration, parseDuration } from '../../shared/domain/duration';
import { parseEcrRegistry } from '../../shared/domain/image-ref';
import { parseRateLimits } from '../../shared/rate-limit';

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

const whole = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Environment of the rescan-planner function (docs/rescans.md lists each variable). */
export const rescanEnvironment = z.object({
  TABLE_NAME: z.string().min(3),
  EVALUATE_QUEUE_URL: z.url(),
  CONTINUATION_QUEUE_URL: z.url(),
  POLICY_FILE: z.string().min(1).optional(),
  POLICY_YAML: z.string().min(1).optional(),
  SCANNING_MODE: z.enum(['basic', 'enhanced']).default('basic'),
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
    .union([z.literal('auto'), z.coerce.number().int().min(1).max(64)])
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
