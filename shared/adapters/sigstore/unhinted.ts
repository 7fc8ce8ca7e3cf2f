import { createHash } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { SignatureVerificationError } from './bundles';
import { keySignedDigest, type SignedArtifact, type TrustedKey } from './verify';

/** What an explanation needs of a signature candidate (image-signatures.ts). */
interface Unverified {
  bundle?: Bundle;
  artifact?: SignedArtifact;
  recordedDigest?: () => Promise<string | undefined>;
}

/** Prehashed key tries per image when explaining hint-less failures (each a few ms of CPU). */
export const MAX_EXPLAIN_TRIES = 16;

/** `rootfs.diff_ids` of an image config, or none when it has no such list. */
export function diffIds(config: Buffer): string[] {
  try {
    const ids = (JSON.parse(config.toString('utf8')) as { rootfs?: { diff_ids?: unknown } }).rootfs
      ?.diff_ids;
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * A hint-less `.sig` layer that no trusted key verifies: a wrong key and a changed payload
 * fail ECDSA alike. cosign's `.sig` config records each layer's sha256 as it signed it; when
 * that differs from the layer's and a trusted key signed the recorded one, the payload was
 * changed after signing. Only a reason: nothing verifies this way.
 */
export async function explainUnhinted(
  candidate: Unverified,
  keys: TrustedKey[],
  budget: { tries: number },
): Promise<SignatureVerificationError | undefined> {
  const content = candidate.bundle?.content;
  const payload = candidate.artifact && 'bytes' in candidate.artifact && candidate.artifact.bytes;
  if (content?.$case !== 'messageSignature' || !payload || !candidate.recordedDigest) return;
  if (budget.tries <= 0) return;
  const recorded = await candidate.recordedDigest();
  const actual = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
  if (!recorded || !/^sha256:[a-f0-9]{64}$/.test(recorded) || recorded === actual) return;
  const limit = Math.min(keys.length, budget.tries);
  budget.tries -= limit;
  const signer = await keySignedDigest(
    content.messageSignature.signature,
    Buffer.from(recorded.slice('sha256:'.length), 'hex'),
    keys,
    limit,
  );
  if (!signer) return;
  return new SignatureVerificationError(
    'SIGNATURE_INVALID',
    `the payload was changed after signing: ${signer.name} signed ${recorded} (recorded in the .sig config), the layer now holds ${actual}`,
  );
}
