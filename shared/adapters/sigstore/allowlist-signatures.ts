import type { AllowlistSignatures } from '../../ports/publishing';
import { SignatureVerificationError, signMessageBundle, verifyMessageBundle } from './bundles';

/** The allowlist signed as a sigstore message-signature bundle (what `cosign verify-blob` reads). */
export const sigstoreAllowlistSignatures: AllowlistSignatures = {
  sign: signMessageBundle,
  check(document, bundle, publicKeyPem) {
    try {
      verifyMessageBundle(document, bundle, publicKeyPem);
      return undefined;
    } catch (error) {
      // Anything but a verdict on the signature (a bug, a crypto failure) is not a rejection.
      if (!(error instanceof SignatureVerificationError)) throw error;
      return {
        reason: error.code === 'DIGEST_MISMATCH' ? 'DIGEST_MISMATCH' : 'SIGNATURE_INVALID',
        message: error.message,
        cause: error,
      };
    }
  },
};
