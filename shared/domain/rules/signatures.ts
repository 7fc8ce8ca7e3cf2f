import type { Reason } from '../verdict';
import type { ImageRule } from './facts';

/** A verified signature is recorded; a missing one fails only where the policy requires it. */
export const signatures: ImageRule = ({ signature, settings }) => {
  const required = settings.signatures.required;
  const status = signature?.status ?? 'not-checked';
  if (status === 'verified') {
    return {
      reasons: [
        {
          code: 'SIGNATURE_VERIFIED',
          effect: 'info',
          message: `signed by ${signature?.signer ?? 'a trusted signer'}`,
        },
      ],
    };
  }
  // An invalid signature is worth recording even where none is required: someone tried.
  if (!required && status !== 'invalid') return undefined;
  const why =
    status === 'unsigned'
      ? 'no signature was found'
      : status === 'invalid'
        ? `no signature verified (${signature?.reason ?? 'invalid signature'})`
        : 'signatures were not checked (no verifier configured)';
  const reason: Reason = {
    code: 'SIGNATURE_UNVERIFIED',
    effect: required ? 'fail' : 'info',
    message: required ? `a trusted signature is required but ${why}` : why,
  };
  return { reasons: [reason] };
};
