import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
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
  timeoutMs?: number;
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

/** A file (ConfigMap, air-gapped copy): the sha256 of its bytes stands in for an ETag. */
export class FileSource implements AllowlistSource {
  private readonly bundle: string;

  constructor(
    readonly location: string,
    options: SourceOptions = {},
  ) {
    this.bundle = options.bundle ?? `${location}${BUNDLE_SUFFIX}`;
  }

  async fetch(etag?: string): Promise<FetchResult> {
    const { chunks, hash } = await readHashed(this.location);
    const tag = `"${hash}"`;
    if (etag === tag) return { status: 'not-modified' };
    const document = Buffer.concat(chunks);
    return { status: 'fetched', document, bundle: await read(this.bundle), etag: tag };
  }
}

/**
 * Reads and hashes a file a chunk at a time, so admissions are answered in between: hashing
 * a 10 MB allowlist in one call held the event loop for ~7 ms at every refresh.
 */
async function readHashed(file: string): Promise<{ chunks: Buffer[]; hash: string }> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of createReadStream(file)) {
      hash.update(chunk as Buffer);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    throw unreadable(file, error);
  }
  return { chunks, hash: hash.digest('hex') };
}

async function read(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw unreadable(file, error);
  }
}

function unreadable(file: string, error: unknown): UpstreamError {
  return new UpstreamError(
    'UPSTREAM_FAILURE',
    `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    { cause: error },
  );
}

/** HTTPS with `If-None-Match`; a 304 costs no body. */
export class HttpSource implements AllowlistSource {
  private readonly bundle: string;

  constructor(
    readonly location: string,
    private readonly options: SourceOptions = {},
  ) {
    this.bundle = options.bundle ?? `${location}${BUNDLE_SUFFIX}`;
  }

  async fetch(etag?: string): Promise<FetchResult> {
    const document = await this.get(this.location, etag);
    if (document.status === 304) return { status: 'not-modified' };
    const bundle =
      (!this.options.bundle && fromMetadata(document.bundle)) || (await this.get(this.bundle)).body;
    return {
      status: 'fetched',
      document: document.body,
      bundle,
      ...(document.etag && { etag: document.etag }),
    };
  }

  private get(
    url: string,
    etag?: string,
  ): Promise<{ status: number; body: Buffer; etag?: string; bundle?: string }> {
    const timeout = this.options.timeoutMs ?? 10_000;
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const failed = (error: Error) =>
        reject(
          new UpstreamError('UPSTREAM_FAILURE', `GET ${url}: ${error.message}`, { cause: error }),
        );
      const req = send(
        url,
        {
          method: 'GET',
          timeout,
          headers: { accept: 'application/json', ...(etag && { 'if-none-match': etag }) },
          ...(this.options.ca && { ca: this.options.ca }),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', failed);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status !== 200 && status !== 304) {
              failed(new Error(`HTTP ${status}`));
              return;
            }
            const header = res.headers.etag;
            const bundle = res.headers[BUNDLE_HEADER];
            resolve({
              status,
              body: Buffer.concat(chunks),
              ...(header && { etag: header }),
              ...(typeof bundle === 'string' && { bundle }),
            });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
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
  }

  async fetch(etag?: string): Promise<FetchResult> {
    let document: Awaited<ReturnType<S3Source['get']>>;
    try {
      document = await this.get(this.key, etag);
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
        await this.get(this.bundleKey).catch((error: unknown) => {
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
    etag?: string,
  ): Promise<{ body: Buffer; etag?: string; bundle?: string }> {
    const out = await this.s3.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(etag && { IfNoneMatch: etag }) }),
    );
    const body = Buffer.from((await out.Body?.transformToByteArray()) ?? []);
    const bundle = out.Metadata?.[BUNDLE_METADATA];
    return { body, ...(out.ETag && { etag: out.ETag }), ...(bundle && { bundle }) };
  }

  private failure(key: string, error: unknown): UpstreamError {
    const e = error as { name?: string; message?: string };
    return new UpstreamError(
      'UPSTREAM_FAILURE',
      `s3://${this.bucket}/${key}: ${e.name ?? 'Error'}: ${e.message ?? String(error)}`,
      { cause: error },
    );
  }
}
