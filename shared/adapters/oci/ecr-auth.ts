import { type ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { parseEcrRegistry } from '../../domain/image-ref';
import { withRetry } from '../../retry';
import { sharedEcrClient } from '../aws/ecr-calls';
import type { CredentialProvider, Credentials } from './auth';
import { RegistryError } from './errors';

/** Refresh this long before `expiresAt` (tokens live 12 h), so none expires mid-request. */
const REFRESH_MARGIN_MS = 15 * 60_000;

export interface EcrCredentialsOptions {
  client?: ECRClient;
  now?: () => number;
}

/**
 * Registry credentials from ECR GetAuthorizationToken: user `AWS`, the token's password,
 * sent as `Basic <token>`. Cached per container and renewed before `expiresAt`.
 */
export class EcrCredentials implements CredentialProvider {
  readonly preemptive = true;
  private cached?: Promise<{ credentials: Credentials; expiresAt: number }>;
  private readonly client: ECRClient;
  private readonly now: () => number;

  constructor(
    private readonly registry: string,
    options: EcrCredentialsOptions = {},
  ) {
    const ecr = parseEcrRegistry(registry);
    if (!ecr)
      throw new RegistryError('UNSUPPORTED', `ECR credentials for ${registry}`, {
        detail: 'not an ECR registry host',
      });
    this.client = options.client ?? sharedEcrClient(ecr.region);
    this.now = options.now ?? Date.now;
  }

  async credentials(): Promise<Credentials> {
    const current = this.cached;
    if (current) {
      const entry = await current.catch(() => undefined);
      if (entry && entry.expiresAt - REFRESH_MARGIN_MS > this.now()) return entry.credentials;
      if (this.cached === current) this.cached = undefined;
    }
    this.cached ??= this.fetch();
    return (await this.cached).credentials;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async fetch(): Promise<{ credentials: Credentials; expiresAt: number }> {
    const accountId = parseEcrRegistry(this.registry)?.accountId;
    const out = await withRetry(() =>
      this.client.send(
        new GetAuthorizationTokenCommand(accountId ? { registryIds: [accountId] } : {}),
      ),
    ).catch((error) => {
      throw new RegistryError('UNAUTHORIZED', `ECR GetAuthorizationToken for ${this.registry}`, {
        detail: (error as Error).name,
        cause: error,
      });
    });
    const data = out.authorizationData?.[0];
    const decoded = data?.authorizationToken
      ? Buffer.from(data.authorizationToken, 'base64').toString('utf8')
      : '';
    const colon = decoded.indexOf(':');
    if (colon < 0) {
      throw new RegistryError(
        'INVALID_RESPONSE',
        `ECR GetAuthorizationToken for ${this.registry}`,
        {
          detail: 'no usable authorizationToken',
        },
      );
    }
    return {
      credentials: { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) },
      expiresAt: data?.expiresAt ? new Date(data.expiresAt).getTime() : this.now() + 12 * 3_600_000,
    };
  }
}
