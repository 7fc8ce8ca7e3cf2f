import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { StoreConflictError } from '../../domain/errors';
import type {
  AllowlistPublication,
  AllowlistStore,
  PublishedAllowlist,
} from '../../ports/publishing';
import { withRetry } from '../../retry';
import { sharedClient } from './clients';

/** Object names beside each other under one prefix (DESIGN §6). */
export function allowlistKeys(prefix = '') {
  return {
    document: `${prefix}allowlist.json`,
    bundle: `${prefix}allowlist.json.sigstore.json`,
    publicKey: `${prefix}allowlist.pub`,
  };
}

/** User metadata on allowlist.json (S3 returns it as x-amz-meta-*). */
export const SEQUENCE_METADATA = 'sequence';
/** The bundle again, base64, so one GET yields document and signature atomically. */
export const BUNDLE_METADATA = 'sigstore-bundle';

export interface S3AllowlistStoreOptions {
  bucket: string;
  prefix?: string;
  client?: S3Client;
  /** Cache-Control of the published objects: pollers revalidate with the ETag. */
  cacheControl?: string;
}

/**
 * The allowlist in S3. allowlist.json is the commit point: it is written first, with
 * `If-Match` on the ETag read before the build (`If-None-Match: *` for the first one), so
 * a concurrent writer makes this write fail instead of silently replacing a newer document.
 */
export class S3AllowlistStore implements AllowlistStore {
  private readonly client: S3Client;
  private readonly keys: ReturnType<typeof allowlistKeys>;

  constructor(private readonly options: S3AllowlistStoreOptions) {
    this.client = options.client ?? sharedClient(S3Client);
    this.keys = allowlistKeys(options.prefix);
  }

  async current(): Promise<PublishedAllowlist | undefined> {
    try {
      const out = await withRetry(() =>
        this.client.send(
          new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.keys.document }),
        ),
      );
      if (!out.ETag) return undefined;
      const sequence = Number(out.Metadata?.[SEQUENCE_METADATA]);
      return { etag: out.ETag, ...(Number.isInteger(sequence) && { sequence }) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async publish(
    publication: AllowlistPublication,
    expected: PublishedAllowlist | undefined,
  ): Promise<{ etag: string }> {
    const bundleJson = JSON.stringify(publication.bundle);
    let etag: string;
    try {
      const out = await withRetry(() =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.options.bucket,
            Key: this.keys.document,
            Body: publication.document,
            ContentType: 'application/json',
            CacheControl: this.options.cacheControl ?? 'no-cache',
            Metadata: {
              [SEQUENCE_METADATA]: String(publication.sequence),
              [BUNDLE_METADATA]: Buffer.from(bundleJson).toString('base64'),
            },
            ...(expected ? { IfMatch: expected.etag } : { IfNoneMatch: '*' }),
          }),
        ),
      );
      etag = out.ETag ?? '';
    } catch (error) {
      if (isPreconditionFailure(error)) {
        throw new StoreConflictError(
          `allowlist ${this.keys.document} in ${this.options.bucket} changed while sequence ${publication.sequence} was built; the rebuild will be retried`,
          { cause: error },
        );
      }
      throw error;
    }
    await this.put(this.keys.bundle, bundleJson, 'application/json');
    await this.put(this.keys.publicKey, publication.publicKeyPem, 'application/x-pem-file');
    return { etag };
  }

  private async put(key: string, body: string, contentType: string): Promise<void> {
    await withRetry(() =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
          CacheControl: this.options.cacheControl ?? 'no-cache',
        }),
      ),
    );
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return name === 'NotFound' || name === 'NoSuchKey' || statusOf(error) === 404;
}

/** 412 PreconditionFailed; 409 ConditionalRequestConflict when two conditional writes race. */
function isPreconditionFailure(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return (
    name === 'PreconditionFailed' ||
    name === 'ConditionalRequestConflict' ||
    statusOf(error) === 412 ||
    statusOf(error) === 409
  );
}
