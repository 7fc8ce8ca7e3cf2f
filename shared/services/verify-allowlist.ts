import { SignatureVerificationError, verifyMessageBundle } from '../adapters/sigstore/bundles';
import { type Allowlist, checkAllowlist, parseAllowlist } from '../domain/allowlist';
import { AllowlistRejectedError } from '../domain/errors';

export interface VerifyAllowlistOptions {
  publicKeyPem: string;
  now: Date;
  /** The highest sequence the consumer already holds: anything lower is a rollback. */
  minSequence?: number;
}

/**
 * What every consumer (CLI, admission webhook) does before trusting an allowlist:
 * signature over the exact bytes, then schema, rollback and freshness.
 */
export function verifyAllowlist(
  bytes: Buffer,
  bundleJson: unknown,
  options: VerifyAllowlistOptions,
): Allowlist {
  try {
    verifyMessageBundle(bytes, bundleJson, options.publicKeyPem);
  } catch (error) {
    if (error instanceof SignatureVerificationError) {
      const reason = error.code === 'DIGEST_MISMATCH' ? 'DIGEST_MISMATCH' : 'SIGNATURE_INVALID';
      throw new AllowlistRejectedError(
        reason,
        reason === 'DIGEST_MISMATCH'
          ? 'bad signature: the allowlist was changed after it was signed'
          : `bad signature: ${error.message}`,
        { cause: error },
      );
    }
    throw error;
  }
  const allowlist = parseAllowlist(bytes);
  checkAllowlist(allowlist, options);
  return allowlist;
}
