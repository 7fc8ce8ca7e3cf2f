import * as z from 'zod';
import { isDuration, parseDuration } from './domain/duration';

/** Environments of `changes`, `allowlist` and `notify` (docs/allowlist.md, docs/alerts.md). */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine(isDuration, 'expected a duration such as 30s, 5m, 24h or 7d')
    .transform(parseDuration);

const tableName = z.string().min(3);
const arn = z.string().regex(/^arn:aws[a-z-]*:/, 'expected an ARN');

export const changesEnvironment = z.object({
  TABLE_NAME: tableName,
  VERDICT_TOPIC_ARN: arn,
  ALLOWLIST_QUEUE_URL: z.url(),
  /** The rebuild queue's delivery delay (docs/allowlist.md); the stack sets both. */
  REBUILD_DEBOUNCE: duration('1s'),
  MARKER_LEASE: duration('2m'),
  /** Where records that cannot be announced are parked whole (docs/hops.md). */
  FAILED_RECORDS_BUCKET: z.string().min(3),
});

export const allowlistEnvironment = z.object({
  TABLE_NAME: tableName,
  ALLOWLIST_BUCKET: z.string().min(3),
  ALLOWLIST_PREFIX: z
    .string()
    .default('')
    .refine((p) => p === '' || p.endsWith('/'), 'a prefix ends with "/"'),
  ALLOWLIST_KMS_KEY_ID: z.string().min(1),
  ALLOWLIST_VALIDITY: duration('24h'),
  REBUILD_DEBOUNCE: duration('1s'),
  /** Shortest gap between two publications (docs/allowlist.md). */
  REBUILD_MIN_INTERVAL: duration('3s'),
  /** Newest not-admitted digests the document names (0: no `notAdmitted` section). */
  ALLOWLIST_NOT_ADMITTED: z.coerce.number().int().min(0).max(100_000).default(0),
  POLICY_FILE: z.string().min(1).optional(),
  POLICY_JSON: z.string().min(1).optional(),
});

/**
 * notify's timeout and the lease of its Slack delivery markers: one figure, used by the stack
 * (infra/publication.ts) and as the default here, so a claim outlives the invocation holding it.
 */
export const NOTIFY_TIMEOUT = '5m';

/**
 * notify's environment whatever the channel; each channel declares its own beside its adapter
 * (Slack's: `slackEnvironment`, shared/adapters/slack/environment.ts).
 */
export const notifyEnvironment = z.object({
  TABLE_NAME: tableName,
  /** The queue notify consumes: a throttled message is deferred there (ChangeMessageVisibility). */
  NOTIFY_QUEUE_URL: z.url(),
  MARKER_LEASE: duration(NOTIFY_TIMEOUT),
});
