import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../../domain/errors';
import { withRetry } from '../../retry';
import { parseWebhookUrl, type WebhookUrl, type WebhookUrlSource } from '../slack/webhook-url';
import { sharedClient } from './clients';

export interface SecretsManagerWebhookUrlOptions {
  client?: SecretsManagerClient;
  /** How long the URL is reused before the secret is read again (rotation takes effect). */
  cacheMs?: number;
  now?: () => number;
}

/**
 * The Slack webhook URL from Secrets Manager, cached per container like the Parameters and
 * Secrets extension does, so a burst of alerts costs one GetSecretValue.
 */
export class SecretsManagerWebhookUrl implements WebhookUrlSource {
  private readonly client: SecretsManagerClient;
  private cached?: { url: WebhookUrl; at: number };

  constructor(
    private readonly secretId: string,
    private readonly options: SecretsManagerWebhookUrlOptions = {},
  ) {
    this.client = options.client ?? sharedClient(SecretsManagerClient);
  }

  async url(): Promise<WebhookUrl> {
    const now = (this.options.now ?? Date.now)();
    if (this.cached && now - this.cached.at < (this.options.cacheMs ?? 300_000)) {
      return this.cached.url;
    }
    const out = await withRetry(() =>
      this.client.send(new GetSecretValueCommand({ SecretId: this.secretId })),
    );
    const text =
      out.SecretString ??
      (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
    if (!text) throw new ConfigError(`secret ${this.secretId} is empty; store the webhook URL`);
    const url = parseWebhookUrl(text, `secret ${this.secretId}`);
    this.cached = { url, at: now };
    return url;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}
