import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BUNDLE_METADATA } from '../../shared/adapters/aws/s3-allowlist-store';
import { UpstreamError } from '../../shared/domain/errors';

/** Where the signed allowlist and its bundle come from. */
export interface AllowlistSource {
  /** For logs: where this source reads. */
  readonly location: string;
  /**
   * Conditional fetch: `not-modified` when the document still has `etag`. The bundle is
   * fetched only when the document changed.
   */
  fetch(etag?: string): Promise<FetchResult>;
}

export type FetchResult =
  | { status: 'not-modified' }
  | { status: 'fetched'; document: Buffer; bundle: Buffer; etag?: string };

/** The sigstore bundle sits beside the document (DESIGN §6). */
export const BUNDLE_SUFFIX = '.sigstore.json';
/**
 * The publisher also puts the bundle (base64) in the document's own S3 metadata: read from
 * the same response, document and signature always match, with no window between writes.
 */
const BUNDLE_HEADER = `x-amz-meta-${BUNDLE_METADATA}`;

function fromMetadata(value: string | undefined): Buffer | undefined {
  return value ? Buffer.from(value, 'base64') : undefined;
}

export interface SourceOptions {
  /** Bundle location; default: the document's location + `.sigstore.json`. */
  bundle?: string;
  /** S3 client for `s3://` (IRSA / Pod Identity credentials come from the default chain). */
  s3?: S3Client;
  /** Extra CA certificates (PEM) trusted for `https://` sources. */
  ca?: string;
  /** Largest document (or bundle) read; checked before the body and while it streams. */
  maxBytes?: number;
  /** Total time one fetch (document and bundle) may take, however slowly bytes arrive. */
  deadlineMs?: number;
}

/** ~128 bytes per digest (measured, one tag each): 48 MiB holds about 390,000 digests. */
export const DEFAULT_MAX_BYTES = 48 * 1024 * 1024;
export const DEFAULT_DEADLINE_MS = 20_000;

export type FetchFailure = 'UNREACHABLE' | 'TOO_LARGE' | 'TIMEOUT';

/** A fetch that did not bring a document, with the reason metrics and logs carry. */
export class SourceError extends UpstreamError {
  constructor(
    readonly reason: FetchFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('UPSTREAM_FAILURE', message, options);
  }
}

function tooLarge(where: string, size: number | string, max: number): SourceError {
  return new SourceError(
    'TOO_LARGE',
    `${where} is ${size} bytes, over the ${max}-byte cap (allowlist.maxBytes)`,
  );
}

/** One deadline per fetch: its signal aborts every read that fetch starts. */
function deadline(ms: number, where: string): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(new SourceError('TIMEOUT', `${where}: no complete answer within ${ms} ms`)),
    ms,
  );
  timer.unref();
  return { signal: controller.signal, done: () => clearTimeout(timer) };
}

/** Reads a stream up to `max` bytes, hashing as it goes; aborts on the signal. */
async function collect(
  stream: AsyncIterable<unknown> & { destroy?(error?: Error): void },
  where: string,
  max: number,
  signal: AbortSignal,
): Promise<{ body: Buffer; hash: string }> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let size = 0;
  const abort = () => stream.destroy?.(signal.reason as Error);
  if (signal.aborted) throw signal.reason;
  signal.addEventListener('abort', abort, { once: true });
  try {
    for await (const chunk of stream) {
      const bytes = chunk as Buffer;
      size += bytes.length;
      if (size > max) {
        stream.destroy?.();
        throw tooLarge(where, `over ${max}`, max);
      }
      hash.update(bytes);
      chunks.push(bytes);
    }
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw error;
  } finally {
    signal.removeEventListener('abort', abort);
  }
  if (signal.aborted) throw signal.reason;
  return { body: Buffer.concat(chunks), hash: hash.digest('hex') };
}

/** `s3://bucket/key`, `https://…` (or `http://` for local runs), or a file path. */
export function createAllowlistSource(
  location: string,
  options: SourceOptions = {},
): AllowlistSource {
  if (location.startsWith('s3://')) return new S3Source(location, options);
  if (/^https?:\/\//.test(location)) return new HttpSource(location, options);
  return new FileSource(location.replace(/^file:\/\//, ''), options);
}

/**
 * A file (ConfigMap, air-gapped copy): the sha256 of its bytes stands in for an ETag. Only a
 * regular file is read: opening a FIFO blocks a libuv thread until a writer comes, which no
 * deadline can cancel. Read and hashed a chunk at a time, so admissions are answered in
 * between (hashing 10 MB in one call held the event loop ~7 ms).
 */
export class FileSource implements AllowlistSource {
  private readonly bundle: string;
  private readonly maxBytes: number;
  private readonly deadlineMs: number;

  constructor(
    readonly location: string,
    options: SourceOptions = {},
  ) {
    this.bundle = options.bundle ?? `${location}${BUNDLE_SUFFIX}`;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  }

  async fetch(etag?: string): Promise<FetchResult> {
    const { signal, done } = deadline(this.deadlineMs, this.location);
    try {
      const document = await this.read(this.location, signal);
      const tag = `"${document.hash}"`;
      if (etag === tag) return { status: 'not-modified' };
      const bundle = await this.read(this.bundle, signal);
      return { status: 'fetched', document: document.body, bundle: bundle.body, etag: tag };
    } finally {
      done();
    }
  }

  private async read(file: string, signal: AbortSignal): Promise<{ body: Buffer; hash: string }> {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(file);
    } catch (error) {
      throw unreadable(file, error);
    }
    if (!info.isFile()) {
      throw new SourceError('UNREACHABLE', `cannot read ${file}: not a regular file`);
    }
    if (info.size > this.maxBytes) throw tooLarge(file, info.size, this.maxBytes);
    try {
      return await collect(createReadStream(file), file, this.maxBytes, signal);
    } catch (error) {
      if (error instanceof SourceError) throw error;
      throw unreadable(file, error);
    }
  }
}

function unreadable(file: string, error: unknown): SourceError {
  return new SourceError(
    'UNREACHABLE',
    `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    { cause: error },
  );
}

/** HTTPS with `If-None-Match`; a 304 costs no body. */
export class HttpSource implements AllowlistSource {
  private readonly bundle: string;
  private readonly maxBytes: number;
  private readonly deadlineMs: number;

  constructor(
    readonly location: string,
    private readonly options: SourceOptions = {},
  ) {
    this.bundle = options.bundle ?? `${location}${BUNDLE_SUFFIX}`;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  }

  async fetch(etag?: string): Promise<FetchResult> {
    const { signal, done } = deadline(this.deadlineMs, `GET ${this.location}`);
    try {
      const document = await this.get(this.location, signal, etag);
      if (document.status === 304) return { status: 'not-modified' };
      const bundle =
        (!this.options.bundle && fromMetadata(document.bundle)) ||
        (await this.get(this.bundle, signal)).body;
      return {
        status: 'fetched',
        document: document.body,
        bundle,
        ...(document.etag && { etag: document.etag }),
      };
    } finally {
      done();
    }
  }

  private get(
    url: string,
    signal: AbortSignal,
    etag?: string,
  ): Promise<{ status: number; body: Buffer; etag?: string; bundle?: string }> {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const failed = (error: Error) =>
        reject(
          error instanceof SourceError
            ? error
            : signal.aborted
              ? signal.reason
              : new SourceError('UNREACHABLE', `GET ${url}: ${error.message}`, { cause: error }),
        );
      const req = send(
        url,
        {
          method: 'GET',
          signal,
          headers: { accept: 'application/json', ...(etag && { 'if-none-match': etag }) },
          ...(this.options.ca && { ca: this.options.ca }),
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          if (status !== 200 && status !== 304) {
            res.resume();
            failed(new Error(`HTTP ${status}`));
            return;
          }
          const length = Number(res.headers['content-length']);
          if (Number.isFinite(length) && length > this.maxBytes) {
            res.destroy();
            failed(tooLarge(`GET ${url}`, length, this.maxBytes));
            return;
          }
          collect(res, `GET ${url}`, this.maxBytes, signal).then(({ body }) => {
            const header = res.headers.etag;
            const bundle = res.headers[BUNDLE_HEADER];
            resolve({
              status,
              body,
              ...(header && { etag: header }),
              ...(typeof bundle === 'string' && { bundle }),
            });
          }, failed);
        },
      );
      req.on('error', failed);
      req.end();
    });
  }
}

/** S3 GetObject with `IfNoneMatch`; the SDK reports the 304 as an error with that status. */
export class S3Source implements AllowlistSource {
  private readonly bucket: string;
  private readonly key: string;
  private readonly bundleKey: string;
  private readonly explicitBundle: boolean;
  private readonly s3: S3Client;
  private readonly maxBytes: number;
  private readonly deadlineMs: number;

  constructor(
    readonly location: string,
    options: SourceOptions = {},
  ) {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
    if (!match?.[1] || !match[2]) {
      throw new UpstreamError('UPSTREAM_FAILURE', `${location} is not s3://bucket/key`);
    }
    this.bucket = match[1];
    this.key = match[2];
    this.bundleKey =
      options.bundle?.replace(`s3://${this.bucket}/`, '') ?? `${this.key}${BUNDLE_SUFFIX}`;
    this.explicitBundle = options.bundle !== undefined;
    this.s3 = options.s3 ?? new S3Client({});
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  }

  async fetch(etag?: string): Promise<FetchResult> {
    const { signal, done } = deadline(this.deadlineMs, this.location);
    try {
      return await this.fetchWithin(signal, etag);
    } catch (error) {
      // The SDK reports an abort as its own AbortError: the deadline's reason says more.
      throw signal.aborted ? signal.reason : error;
    } finally {
      done();
    }
  }

  private async fetchWithin(signal: AbortSignal, etag?: string): Promise<FetchResult> {
    let document: Awaited<ReturnType<S3Source['get']>>;
    try {
      document = await this.get(this.key, signal, etag);
    } catch (error) {
      if (
        (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 304
      ) {
        return { status: 'not-modified' };
      }
      throw this.failure(this.key, error);
    }
    const bundle =
      (!this.explicitBundle && fromMetadata(document.bundle)) ||
      (
        await this.get(this.bundleKey, signal).catch((error: unknown) => {
          throw this.failure(this.bundleKey, error);
        })
      ).body;
    return {
      status: 'fetched',
      document: document.body,
      bundle,
      ...(document.etag && { etag: document.etag }),
    };
  }

  private async get(
    key: string,
    signal: AbortSignal,
    etag?: string,
  ): Promise<{ body: Buffer; etag?: string; bundle?: string }> {
    const where = `s3://${this.bucket}/${key}`;
    const out = await this.s3.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(etag && { IfNoneMatch: etag }) }),
      { abortSignal: signal },
    );
    const stream = out.Body as (AsyncIterable<unknown> & { destroy?(): void }) | undefined;
    if (out.ContentLength !== undefined && out.ContentLength > this.maxBytes) {
      stream?.destroy?.();
      throw tooLarge(where, out.ContentLength, this.maxBytes);
    }
    const body = stream
      ? (await collect(stream, where, this.maxBytes, signal)).body
      : Buffer.alloc(0);
    const bundle = out.Metadata?.[BUNDLE_METADATA];
    return { body, ...(out.ETag && { etag: out.ETag }), ...(bundle && { bundle }) };
  }

  private failure(key: string, error: unknown): SourceError {
    if (error instanceof SourceError) return error;
    const e = error as { name?: string; message?: string };
    return new SourceError(
      'UNREACHABLE',
      `s3://${this.bucket}/${key}: ${e.name ?? 'Error'}: ${e.message ?? String(error)}`,
      { cause: error },
    );
  }
}
