import { sigstoreAllowlistSignatures } from '../../shared/adapters/sigstore/allowlist-signatures';
import { type Allowlist, parseAllowlist } from '../../shared/domain/allowlist';
import { AllowlistRejectedError, type AllowlistRejection } from '../../shared/domain/errors';
import { verifyAllowlist } from '../../shared/services/verify-allowlist';
import { type AllowlistIndex, indexAllowlist } from './allowlist-index';

/** What the holder asks of a fetched document (in a worker thread or, as fallback, inline). */
export interface VerifyJob {
  document: Uint8Array;
  bundle: Uint8Array;
  publicKeyPem: string;
  nowMs: number;
  minSequence?: number;
  tags: boolean;
  /** Index an authentic but expired document too (the holder has nothing fresh). */
  keepExpired: boolean;
}

export type VerifyVerdict =
  | { result: 'verified'; index: AllowlistIndex }
  /** Authentic, not older than held, but past validUntil; indexed only when asked. */
  | { result: 'expired'; sequence: number; index?: AllowlistIndex }
  | { result: 'rejected'; reason: AllowlistRejection; message: string };

/** Signature over the exact bytes, schema, rollback, freshness; then the index. */
export function runVerifyJob(job: VerifyJob): VerifyVerdict {
  const document = Buffer.from(job.document.buffer, job.document.byteOffset, job.document.length);
  let bundle: unknown;
  try {
    bundle = JSON.parse(Buffer.from(job.bundle).toString('utf8'));
  } catch {
    return { result: 'rejected', reason: 'SIGNATURE_INVALID', message: 'the bundle is not JSON' };
  }
  let allowlist: Allowlist;
  try {
    allowlist = verifyAllowlist(document, bundle, {
      publicKeyPem: job.publicKeyPem,
      now: new Date(job.nowMs),
      signatures: sigstoreAllowlistSignatures,
      ...(job.minSequence !== undefined && { minSequence: job.minSequence }),
    });
  } catch (error) {
    if (!(error instanceof AllowlistRejectedError)) throw error;
    if (error.reason !== 'EXPIRED') {
      return { result: 'rejected', reason: error.reason, message: error.message };
    }
    // verifyAllowlist checks signature, schema and rollback before freshness, so an
    // EXPIRED document is authentic and not older than ours: stale, not forged.
    const stale = parseAllowlist(document);
    return {
      result: 'expired',
      sequence: stale.sequence,
      ...(job.keepExpired && { index: indexAllowlist(stale, { tags: job.tags }) }),
    };
  }
  return { result: 'verified', index: indexAllowlist(allowlist, { tags: job.tags }) };
}
