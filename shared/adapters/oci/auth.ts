import { RegistryError } from './errors';

export interface Credentials {
  username: string;
  password: string;
}

/**
 * Where registry credentials come from. `preemptive` providers (ECR) are sent with the
 * first request instead of waiting for a 401 challenge: one round trip fewer.
 */
export interface CredentialProvider {
  credentials(): Promise<Credentials | undefined>;
  /** Called when the registry rejected what `credentials()` returned (e.g. an expired token). */
  invalidate?(): void;
  readonly preemptive?: boolean;
}

export const anonymous: CredentialProvider = { credentials: async () => undefined };

export function basicAuth(username: string, password: string): CredentialProvider {
  return { credentials: async () => ({ username, password }) };
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses one `WWW-Authenticate` challenge: `Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!match?.[1]) return undefined;
  const params: Record<string, string> = {};
  const param = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (let m = param.exec(match[2] ?? ''); m; m = param.exec(match[2] ?? '')) {
    if (m[1]) params[m[1].toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: match[1].toLowerCase(), params };
}

function basicHeader(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

/** Token servers may omit `expires_in`; the distribution spec says assume 60 seconds. */
const DEFAULT_TOKEN_SECONDS = 60;

/**
 * Answers registry challenges (distribution token auth spec): Basic with the provider's
 * credentials, or Bearer by fetching a token from the challenge's realm, cached per scope.
 */
export class Authenticator {
  private scheme: 'basic' | 'bearer' | undefined;
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly provider: CredentialProvider,
    private readonly fetchFn: typeof fetch,
    private readonly now: () => number = Date.now,
  ) {
    if (provider.preemptive) this.scheme = 'basic';
  }

  /** The Authorization header to send for `scope`, if one is known without a round trip. */
  async authorization(scope: string): Promise<string | undefined> {
    if (this.scheme === 'basic') {
      const credentials = await this.provider.credentials();
      return credentials && basicHeader(credentials);
    }
    if (this.scheme === 'bearer') {
      const token = this.tokens.get(scope);
      if (token && token.expiresAt > this.now()) return token.header;
    }
    return undefined;
  }

  /**
   * Handles a 401: returns the header to retry with, or throws when the challenge cannot
   * be answered. `rejected` is the header the registry just refused, if any.
   */
  async answer(
    challengeHeader: string | null,
    scope: string,
    rejected: string | undefined,
    operation: string,
  ): Promise<string> {
    const challenge = parseChallenge(challengeHeader);
    if (rejected) {
      this.provider.invalidate?.();
      this.tokens.delete(scope);
    }
    if (challenge?.scheme === 'basic') {
      this.scheme = 'basic';
      const credentials = await this.provider.credentials();
      if (!credentials)
        throw new RegistryError('UNAUTHORIZED', operation, {
          status: 401,
          detail: 'no credentials configured',
        });
      const header = basicHeader(credentials);
      if (rejected === header)
        throw new RegistryError('UNAUTHORIZED', operation, {
          status: 401,
          detail: 'credentials rejected',
        });
      return header;
    }
    if (challenge?.scheme === 'bearer' && challenge.params.realm) {
      this.scheme = 'bearer';
      const token = await this.fetchToken(challenge, scope, operation);
      if (rejected === token.header)
        throw new RegistryError('UNAUTHORIZED', operation, {
          status: 401,
          detail: 'token rejected',
        });
      this.tokens.set(scope, token);
      return token.header;
    }
    throw new RegistryError('UNAUTHORIZED', operation, {
      status: 401,
      detail: challengeHeader
        ? `unsupported challenge "${challengeHeader}"`
        : 'no WWW-Authenticate challenge',
    });
  }

  private async fetchToken(
    challenge: Challenge,
    scope: string,
    operation: string,
  ): Promise<CachedToken> {
    const url = new URL(challenge.params.realm as string);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    for (const s of new Set([challenge.params.scope ?? scope, scope].filter(Boolean))) {
      url.searchParams.append('scope', s);
    }
    const credentials = await this.provider.credentials();
    const started = this.now();
    let response: Response;
    try {
      response = await this.fetchFn(url, {
        headers: credentials ? { authorization: basicHeader(credentials) } : {},
      });
    } catch (error) {
      throw new RegistryError('UNAVAILABLE', `${operation}: token from ${url.origin}`, {
        cause: error,
      });
    }
    if (!response.ok) {
      throw new RegistryError(
        response.status === 401 ? 'UNAUTHORIZED' : 'DENIED',
        `${operation}: token from ${url.origin}`,
        {
          status: response.status,
          detail: 'the token server refused the credentials',
        },
      );
    }
    const body = (await response.json().catch(() => ({}))) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = body.token ?? body.access_token;
    if (!token)
      throw new RegistryError('INVALID_RESPONSE', `${operation}: token from ${url.origin}`, {
        detail: 'no token in the answer',
      });
    // Refresh 10% early so a token never expires in flight.
    const seconds =
      body.expires_in && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    return { header: `Bearer ${token}`, expiresAt: started + seconds * 900 };
  }
}
