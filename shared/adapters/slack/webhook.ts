import { createHash } from 'node:crypto';
import type { Announcement } from '../../domain/announcement';
import { UpstreamError } from '../../domain/errors';
import { type Log, silentLog } from '../../ports';
import type { AlertSink } from '../../ports/publishing';
import { sleep, withRetry } from '../../retry';
import { type SlackMessage, slackMessageOf } from './message';
import type { WebhookUrlSource } from './webhook-url';

/** The channel name of every Slack sink: its delivery markers are `EVENT#<id>` / `SLACK`. */
export const SLACK_CHANNEL = 'SLACK';

/** How long Slack asked us to wait, when it did. */
export function slackRetryAfterMs(error: unknown): number | undefined {
  return error instanceof SlackDeliveryError && error.status === 429
    ? error.retryAfterMs
    : undefined;
}

/** Slack refused or could not take a message. `permanent`: retrying the same payload is futile. */
export class SlackDeliveryError extends UpstreamError {
  constructor(
    readonly status: number,
    /** Slack's error word (`invalid_payload`, `channel_not_found`, ...) or the network error. */
    readonly slackError: string,
    readonly permanent: boolean,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(
      status === 429 ? 'UPSTREAM_THROTTLED' : 'UPSTREAM_FAILURE',
      permanent
        ? `Slack rejected the message (HTTP ${status} ${slackError}): fix the webhook secret or the payload, then redrive the DLQ`
        : `Slack did not take the message (${status ? `HTTP ${status} ` : ''}${slackError}); it will be retried`,
      options,
    );
  }
}

export interface SlackWebhookOptions {
  urls: WebhookUrlSource;
  /** Attempts per message, the first included. */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A longer Retry-After ends the attempt (the Lambda retry comes back later); default 30 s. */
  maxRetryAfterMs?: number;
  /** Slack allows about one message per second per webhook. */
  minIntervalMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  log?: Log;
}

/**
 * Posts Block Kit messages to a Slack incoming webhook: paced to one message per
 * `minIntervalMs` per webhook, HTTP 429 waits `Retry-After`, 5xx and network errors back
 * off (bounded), any other 4xx fails at once as permanent.
 */
export class SlackWebhook implements AlertSink {
  readonly channel = SLACK_CHANNEL;
  private readonly nextSlot = new Map<string, number>();
  private readonly wait: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: SlackWebhookOptions) {
    this.wait = options.sleep ?? sleep;
    this.now = options.now ?? Date.now;
  }

  deliver(announcement: Announcement): Promise<void> {
    return this.post(slackMessageOf(announcement));
  }

  /** A 429 whose Retry-After outlasted the in-process budget (the attempts gave up on it). */
  retryAfterMs(error: unknown): number | undefined {
    return slackRetryAfterMs(error);
  }

  async post(message: SlackMessage): Promise<void> {
    const url = await this.options.urls.url();
    const body = JSON.stringify(message);
    const slot = createHash('sha256').update(url.reveal()).digest('hex');
    const maxRetryAfter = this.options.maxRetryAfterMs ?? 30_000;
    let retryAfter: number | undefined;
    try {
      await withRetry(() => this.attempt(url.reveal(), body, slot), {
        attempts: this.options.attempts ?? 6,
        baseDelayMs: this.options.baseDelayMs ?? 1_000,
        maxDelayMs: this.options.maxDelayMs ?? 20_000,
        retryable: (e) =>
          e instanceof SlackDeliveryError && !e.permanent && (e.retryAfterMs ?? 0) <= maxRetryAfter,
        onRetry: (e, attempt, delay) => {
          retryAfter = (e as SlackDeliveryError).retryAfterMs;
          (this.options.log ?? silentLog).warn('Slack delivery retried', {
            attempt,
            status: (e as SlackDeliveryError).status,
            waitMs: retryAfter ?? delay,
          });
        },
        // 429 says how long to wait; everything else takes the jittered backoff.
        sleep: (ms) => this.wait(retryAfter ?? ms),
      });
    } catch (error) {
      if (error instanceof SlackDeliveryError && error.permanent) this.options.urls.invalidate?.();
      throw error;
    }
  }

  private async attempt(url: string, body: string, slot: string): Promise<void> {
    const interval = this.options.minIntervalMs ?? 1_000;
    const gap = (this.nextSlot.get(slot) ?? 0) - this.now();
    if (gap > 0) await this.wait(gap);
    this.nextSlot.set(slot, this.now() + interval);
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      // The error text of fetch may quote the URL: keep only its name.
      throw new SlackDeliveryError(0, (error as Error).name || 'network error', false, undefined, {
        cause: (error as Error).name,
      });
    }
    const text = (await response.text().catch(() => '')).slice(0, 200).trim();
    if (response.ok) return;
    const status = response.status;
    if (status === 429) {
      throw new SlackDeliveryError(429, text || 'rate_limited', false, retryAfterMs(response));
    }
    const permanent = status >= 400 && status < 500 && status !== 408;
    throw new SlackDeliveryError(status, text || response.statusText, permanent);
  }
}

/** Retry-After in seconds or as an HTTP date; 1 s when absent or unreadable. */
export function retryAfterMs(response: Response, now = Date.now()): number {
  const header = response.headers.get('retry-after');
  if (header === null) return 1_000;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 1_000 : Math.max(0, date - now);
}
