import { type RetryOptions, withRetry } from '../../retry';
import { Authenticator, anonymous, type CredentialProvider } from './auth';
import { failureOf, isRegistryError, RegistryError } from './errors';
import { type Descriptor, declaredMediaType, sha256Digest } from './manifest';
import { MANIFEST_MEDIA_TYPES } from './media-types';

export interface RegistryClientOptions {
  /** Registry host[:port], as in image references. */
  registry: string;
  auth?: CredentialProvider;
  /** HTTP instead of HTTPS; default only for loopback hosts (as Docker does). */
  plainHttp?: boolean;
  /** Blobs larger than this are uploaded in PATCH chunks of this size (default 8 MiB). */
  chunkSize?: number;
  retry?: RetryOptions;
  fetch?: typeof fetch;
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  json: unknown;
}

interface Call {
  operation: string;
  method: string;
  /** Path below the registry root, or an absolute URL (upload locations). */
  path: string;
  scope: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Statuses that are answers, not failures (404 for existence checks). */
  accept?: number[];
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(:\d+)?$/;
const DOCKER_HUB_API = 'registry-1.docker.io';

/**
 * A client of the OCI distribution API (pull and push): manifests, blobs, tags, delete.
 * Auth challenges, retries of 5xx/429 with backoff, and clear errors for 401/403/404.
 */
export class RegistryClient {
  readonly registry: string;
  private readonly base: string;
  private readonly auth: Authenticator;
  private readonly fetchFn: typeof fetch;
  private readonly chunkSize: number;
  private readonly retry: RetryOptions;

  constructor(options: RegistryClientOptions) {
    this.registry = options.registry;
    const host = options.registry === 'docker.io' ? DOCKER_HUB_API : options.registry;
    const plain = options.plainHttp ?? LOOPBACK.test(host);
    this.base = `${plain ? 'http' : 'https'}://${host}`;
    this.fetchFn = options.fetch ?? fetch;
    this.auth = new Authenticator(options.auth ?? anonymous, this.fetchFn);
    this.chunkSize = options.chunkSize ?? 8 * 1024 * 1024;
    this.retry = { attempts: 4, baseDelayMs: 200, maxDelayMs: 3_000, ...options.retry };
  }

  /** Fetches a manifest by tag or digest, offering all four manifest types. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const operation = `GET manifest ${this.registry}/${repository}:${reference}`;
    const response = await this.call({
      operation,
      method: 'GET',
      path: `/v2/${repository}/manifests/${reference}`,
      scope: pull(repository),
      headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = sha256Digest(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new RegistryError('INVALID_RESPONSE', operation, {
        detail: `content digest ${digest} differs`,
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new RegistryError('INVALID_RESPONSE', operation, {
        detail: 'manifest is not JSON',
        cause: error,
      });
    }
    const mediaType = declaredMediaType(json) ?? contentType(response) ?? '';
    return { digest, mediaType, bytes, json };
  }

  /** undefined when the manifest does not exist. */
  async findManifest(repository: string, reference: string): Promise<FetchedManifest | undefined> {
    try {
      return await this.getManifest(repository, reference);
    } catch (error) {
      if (isRegistryError(error, 'NOT_FOUND')) return undefined;
      throw error;
    }
  }

  /** Pushes a manifest; its top-level `mediaType` is required and sent as Content-Type. */
  async putManifest(
    repository: string,
    reference: string,
    bytes: Buffer,
  ): Promise<{ digest: string; mediaType: string; size: number; subjectProcessed: boolean }> {
    const operation = `PUT manifest ${this.registry}/${repository}:${reference}`;
    const mediaType = declaredMediaType(JSON.parse(bytes.toString('utf8')));
    if (!mediaType || mediaType.includes(';')) {
      throw new RegistryError('REJECTED', operation, {
        detail: 'a manifest needs a top-level mediaType without parameters (ECR rejects ";")',
      });
    }
    const response = await this.call({
      operation,
      method: 'PUT',
      path: `/v2/${repository}/manifests/${reference}`,
      scope: push(repository),
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    await response.arrayBuffer();
    return {
      digest: sha256Digest(bytes),
      mediaType,
      size: bytes.length,
      // OCI 1.1: a registry that indexed the subject says so; otherwise keep the tag schema.
      subjectProcessed: response.headers.has('oci-subject'),
    };
  }

  /** Deletes a manifest by digest; false when the registry does not allow deletes. */
  async deleteManifest(repository: string, digest: string): Promise<boolean> {
    try {
      const response = await this.call({
        operation: `DELETE manifest ${this.registry}/${repository}@${digest}`,
        method: 'DELETE',
        path: `/v2/${repository}/manifests/${digest}`,
        scope: `repository:${repository}:delete`,
        accept: [404],
      });
      await response.arrayBuffer();
      return true;
    } catch (error) {
      if (isRegistryError(error, 'UNSUPPORTED')) return false;
      throw error;
    }
  }

  async getBlob(repository: string, digest: string): Promise<Buffer> {
    const operation = `GET blob ${this.registry}/${repository}@${digest}`;
    const response = await this.call({
      operation,
      method: 'GET',
      path: `/v2/${repository}/blobs/${digest}`,
      scope: pull(repository),
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    if (digest.startsWith('sha256:') && sha256Digest(bytes) !== digest) {
      throw new RegistryError('INVALID_RESPONSE', operation, {
        detail: 'blob content does not match its digest',
      });
    }
    return bytes;
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const response = await this.call({
      operation: `HEAD blob ${this.registry}/${repository}@${digest}`,
      method: 'HEAD',
      path: `/v2/${repository}/blobs/${digest}`,
      scope: pull(repository),
      accept: [404],
    });
    return response.status !== 404;
  }

  /**
   * Uploads a blob unless the registry has it: monolithic (POST, then PUT with the bytes)
   * up to `chunkSize`, chunked (PATCH with Content-Range, then PUT) above it.
   */
  async pushBlob(repository: string, bytes: Buffer, mediaType: string): Promise<Descriptor> {
    const digest = sha256Digest(bytes);
    const descriptor = { mediaType, digest, size: bytes.length };
    if (await this.hasBlob(repository, digest)) return descriptor;
    const operation = `upload blob ${this.registry}/${repository}@${digest}`;
    const started = await this.call({
      operation,
      method: 'POST',
      path: `/v2/${repository}/blobs/uploads/`,
      scope: push(repository),
      headers: { 'content-length': '0' },
    });
    await started.arrayBuffer();
    let location = this.location(started, operation);
    let body = bytes;
    if (bytes.length > this.chunkSize) {
      for (let offset = 0; offset < bytes.length; offset += this.chunkSize) {
        const chunk = bytes.subarray(offset, offset + this.chunkSize);
        const patched = await this.call({
          operation,
          method: 'PATCH',
          path: location,
          scope: push(repository),
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${offset}-${offset + chunk.length - 1}`,
          },
          body: Buffer.from(chunk),
        });
        await patched.arrayBuffer();
        location = this.location(patched, operation);
      }
      body = Buffer.alloc(0);
    }
    const url = new URL(location, this.base);
    url.searchParams.set('digest', digest);
    const done = await this.call({
      operation,
      method: 'PUT',
      path: url.toString(),
      scope: push(repository),
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    await done.arrayBuffer();
    return descriptor;
  }

  /** All tags of a repository, following `Link` pagination. */
  async listTags(repository: string, pageSize = 1000): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repository}/tags/list?n=${pageSize}`;
    while (path) {
      const response = await this.call({
        operation: `GET tags ${this.registry}/${repository}`,
        method: 'GET',
        path,
        scope: pull(repository),
      });
      const body = (await response.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      path = /<([^>]+)>;\s*rel="?next"?/.exec(response.headers.get('link') ?? '')?.[1];
    }
    return tags;
  }

  /** GET of a raw API path (referrers). 404 is returned, not thrown. */
  async getJson(
    repository: string,
    path: string,
    operation: string,
  ): Promise<{ status: number; json?: unknown; headers: Headers }> {
    const response = await this.call({
      operation,
      method: 'GET',
      path,
      scope: pull(repository),
      accept: [404],
    });
    if (response.status === 404) {
      await response.arrayBuffer();
      return { status: 404, headers: response.headers };
    }
    return { status: response.status, json: await response.json(), headers: response.headers };
  }

  private location(response: Response, operation: string): string {
    const location = response.headers.get('location');
    if (!location)
      throw new RegistryError('INVALID_RESPONSE', operation, { detail: 'no upload Location' });
    return new URL(location, this.base).toString();
  }

  private call(call: Call): Promise<Response> {
    return withRetry(() => this.attempt(call), {
      ...this.retry,
      retryable: (error) => isRegistryError(error) && error.retryable,
    });
  }

  /** One attempt, answering at most one auth challenge. */
  private async attempt(call: Call): Promise<Response> {
    let authorization = await this.auth.authorization(call.scope);
    for (let round = 0; ; round++) {
      const response = await this.send(call, authorization);
      if (response.status === 401 && round < 2) {
        await response.arrayBuffer();
        authorization = await this.auth.answer(
          response.headers.get('www-authenticate'),
          call.scope,
          authorization,
          call.operation,
        );
        continue;
      }
      if (response.ok || call.accept?.includes(response.status)) return response;
      throw new RegistryError(failureOf(response.status), call.operation, {
        status: response.status,
        detail: await errorDetail(response),
      });
    }
  }

  private async send(call: Call, authorization: string | undefined): Promise<Response> {
    const url = call.path.startsWith('http') ? call.path : `${this.base}${call.path}`;
    try {
      return await this.fetchFn(url, {
        method: call.method,
        headers: { ...call.headers, ...(authorization && { authorization }) },
        ...(call.body && { body: call.body }),
      });
    } catch (error) {
      throw new RegistryError('UNAVAILABLE', call.operation, {
        detail: (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message,
        cause: error,
      });
    }
  }
}

const pull = (repository: string) => `repository:${repository}:pull`;
const push = (repository: string) => `repository:${repository}:pull,push`;

function contentType(response: Response): string | undefined {
  return response.headers.get('content-type')?.split(';')[0]?.trim() || undefined;
}

/** The distribution error body (`{errors:[{code,message}]}`) in one line. */
async function errorDetail(response: Response): Promise<string | undefined> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const errors = body.errors?.map((e) => [e.code, e.message].filter(Boolean).join(': '));
    if (errors?.length) return errors.join('; ');
  } catch {
    // not JSON: fall through to the text
  }
  return text.trim().slice(0, 200) || undefined;
}
