import * as z from 'zod';
import { isDuration, parseDuration } from '../../domain/duration';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine(isDuration, 'expected a duration such as 30s, 5m, 24h or 7d')
    .transform(parseDuration);

/** The variable that carries the Secrets Manager secret holding the webhook URL. */
export const SLACK_SECRET_VARIABLE = 'SLACK_WEBHOOK_SECRET_ARN';

/**
 * Slack's part of the notify function's environment (docs/alerts.md): the notify root reads
 * it beside the channel-neutral `notifyEnvironment`, infra's `slackChannel` sets it.
 */
export const slackEnvironment = z.object({
  [SLACK_SECRET_VARIABLE]: z.string().regex(/^arn:aws[a-z-]*:/, 'expected an ARN'),
  SLACK_SECRET_CACHE: duration('5m'),
  SLACK_MIN_INTERVAL: duration('1s'),
});

export type SlackEnvironment = z.infer<typeof slackEnvironment>;
