import type { KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';

/**
 * ECDSA P-256 verification over a digest the caller already has (`verify-bundle sha256:…`,
 * the digest a `.sig` config recorded). Node's crypto always hashes its input itself, so
 * the curve arithmetic is noble-curves' (audited). The signature is DER, as KMS, cosign and
 * Node write it; a high S is accepted as Node's crypto.verify and sigstore accept it.
 */
export function verifyPrehashedP256(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) return false;
  // SEC1 uncompressed point: 0x04 ‖ x ‖ y.
  const point = Buffer.concat([
    Buffer.of(4),
    Buffer.from(jwk.x, 'base64url'),
    Buffer.from(jwk.y, 'base64url'),
  ]);
  try {
    return p256.verify(signature, digest, point, { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false; // not DER, or not a point: verifies nothing
  }
}
