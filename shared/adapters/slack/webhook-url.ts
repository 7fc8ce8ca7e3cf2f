import { inspect } from 'node:util';
import { ConfigError } from '../../domain/errors';

const REDACTED = '[redacted Slack webhook URL]';

/**
 * A Slack incoming-webhook URL is a credential: whoever has it can post. This wrapper
 * prints as a placeholder in logs, JSON and util.inspect; only `reveal()` hands it out.
 */
export class WebhookUrl {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/** Where the webhook URL comes from (Secrets Manager in AWS, an env variable locally). */
export interface WebhookUrlSource {
  url(): Promise<WebhookUrl>;
  /** Forget a cached URL (it was rejected: the secret may have been rotated). */
  invalidate?(): void;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Reads a webhook URL as stored: the URL itself, or JSON with `url`, `webhookUrl`,
 * `webhook_url` or `SLACK_WEBHOOK_URL`. HTTPS only (plain HTTP on loopback for tests).
 * Errors never repeat the value.
 */
export function parseWebhookUrl(secret: string, source: string): WebhookUrl {
  let value = secret.trim();
  if (value.startsWith('{')) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(value) as Record<string, unknown>;
    } catch {
      throw new ConfigError(`${source} holds JSON that does not parse; store the URL itself`);
    }
    const found = ['url', 'webhookUrl', 'webhook_url', 'SLACK_WEBHOOK_URL']
      .map((k) => json[k])
      .find((v) => typeof v === 'string');
    if (typeof found !== 'string') {
      throw new ConfigError(`${source} is JSON without a "url" key; store {"url": "https://..."}`);
    }
    value = found.trim();
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${source} is not a URL; store the Slack incoming-webhook URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new ConfigError(`${source} must be an https:// Slack incoming-webhook URL`);
  }
  return new WebhookUrl(url.toString());
}

/** A fixed URL (SLACK_WEBHOOK_URL for `npm start`). */
export function staticWebhookUrl(value: string, source = 'SLACK_WEBHOOK_URL'): WebhookUrlSource {
  const url = parseWebhookUrl(value, source);
  return { url: async () => url };
}
