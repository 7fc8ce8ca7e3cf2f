import { type Allowlist, checkAllowlist, parseAllowlist } from '../domain/allowlist';
import { AllowlistRejectedError } from '../domain/errors';
import type { AllowlistSignatures } from '../ports/publishing';

export interface VerifyAllowlistOptions {
  publicKeyPem: string;
  now: Date;
  /** The highest sequence the consumer already holds: anything lower is a rollback. */
  minSequence?: number;
  /** The signature's format (the sigstore bundle adapter, from a composition root). */
  signatures: AllowlistSignatures;
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
  const problem = options.signatures.check(bytes, bundleJson, options.publicKeyPem);
  if (problem) {
    throw new AllowlistRejectedError(
      problem.reason,
      problem.reason === 'DIGEST_MISMATCH'
        ? 'bad signature: the allowlist was changed after it was signed'
        : `bad signature: ${problem.message}`,
      { cause: problem.cause },
    );
  }
  const allowlist = parseAllowlist(bytes);
  checkAllowlist(allowlist, options);
  return allowlist;
}
