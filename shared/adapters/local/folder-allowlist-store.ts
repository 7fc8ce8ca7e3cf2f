import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreConflictError } from '../../domain/errors';
import type {
  AllowlistPublication,
  AllowlistStore,
  PublishedAllowlist,
} from '../../ports/publishing';
import { allowlistKeys } from '../aws/s3-allowlist-store';

/**
 * The allowlist in a local folder (`npm start` without s3rver), with the same object names
 * as S3 and the same conditional-write contract (the ETag is the document's sha256).
 */
export class FolderAllowlistStore implements AllowlistStore {
  private readonly keys = allowlistKeys();

  constructor(private readonly dir: string) {}

  /** Paths of the three published files. */
  get paths() {
    return {
      document: join(this.dir, this.keys.document),
      bundle: join(this.dir, this.keys.bundle),
      publicKey: join(this.dir, this.keys.publicKey),
    };
  }

  async current(): Promise<PublishedAllowlist | undefined> {
    if (!existsSync(this.paths.document)) return undefined;
    const bytes = readFileSync(this.paths.document);
    const sequence = (JSON.parse(bytes.toString()) as { sequence?: unknown }).sequence;
    return {
      etag: etagOf(bytes),
      ...(typeof sequence === 'number' && { sequence }),
    };
  }

  async publish(
    publication: AllowlistPublication,
    expected: PublishedAllowlist | undefined,
  ): Promise<{ etag: string }> {
    const now = await this.current();
    if (now?.etag !== expected?.etag) {
      throw new StoreConflictError(
        `${this.paths.document} changed while sequence ${publication.sequence} was built`,
      );
    }
    mkdirSync(this.dir, { recursive: true });
    write(this.paths.document, publication.document);
    write(this.paths.bundle, JSON.stringify(publication.bundle));
    write(this.paths.publicKey, publication.publicKeyPem);
    return { etag: etagOf(publication.document) };
  }
}

function etagOf(bytes: Buffer): string {
  return `"${createHash('sha256').update(bytes).digest('hex')}"`;
}

/** Write-then-rename: a reader never sees half a file. */
function write(path: string, data: Buffer | string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, data);
  renameSync(temp, path);
}
