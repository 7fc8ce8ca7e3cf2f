import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import {
  type SignedEntity,
  toSignedEntity,
  toTrustMaterial,
  VerificationError,
  Verifier,
} from '@sigstore/verify';
import { matchesGlob } from '../../domain/glob';
import type { KeylessIdentity } from '../../domain/policy';
import { POLICY_LIMITS } from '../../domain/policy-bounds';
import { keyHint, SignatureVerificationError } from './bundles';

export interface TrustedKey {
  name: string;
  publicKeyPem: string;
}

/** What a signature may be verified against: the policy's keys and keyless identities. */
export interface VerificationTrust {
  keys: TrustedKey[];
  keyless: KeylessIdentity[];
  /** Required for keyless: Fulcio CAs, Rekor and CT log keys (never fetched here). */
  trustedRoot?: TrustedRoot;
}

export interface VerifiedSigner {
  /** Key name, or `issuer subject` for keyless. */
  signer: string;
  identity?: { issuer: string; subject: string };
}

/** What was signed: the exact bytes, or only their sha256 digest (`verify-bundle sha256:…`). */
export type SignedArtifact = { bytes: Buffer } | DigestArtifact | undefined;

/** Only the sha256 of what was signed, and how a signature over it is checked. */
export interface DigestArtifact {
  sha256: Buffer;
  /** ECDSA P-256 over the digest itself (prehashed.ts). */
  verifySignature(key: KeyObject, signature: Buffer): boolean;
}

/**
 * A digest artifact. The curve code (noble-curves, ~43 KB minified) is imported on first
 * use, so a bundle loads it only when a digest is verified (esbuild puts it in a chunk).
 */
export async function digestArtifact(sha256: Buffer): Promise<DigestArtifact> {
  const { verifyPrehashedP256 } = await import('./prehashed.js');
  return { sha256, verifySignature: (key, sig) => verifyPrehashedP256(key, sha256, sig) };
}

const EMPTY_ROOT: TrustedRoot = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot.v0.2+json',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

function entityOf(bundle: Bundle, artifact: SignedArtifact): SignedEntity {
  if (artifact && 'sha256' in artifact && bundle.content.$case === 'messageSignature') {
    const entity = toSignedEntity(bundle);
    const signature = bundle.content.messageSignature.signature;
    const content = entity.signature; // a class instance: delegate, do not spread
    return {
      ...entity,
      signature: {
        signature: content.signature,
        compareSignature: (sig: Buffer) => content.compareSignature(sig),
        compareDigest: (d: Buffer) => content.compareDigest(d),
        verifySignature: (key: KeyObject) => artifact.verifySignature(key, signature),
      },
    };
  }
  return toSignedEntity(bundle, artifact && 'bytes' in artifact ? artifact.bytes : undefined);
}

function verificationCode(error: unknown): SignatureVerificationError {
  if (!(error instanceof VerificationError)) {
    return new SignatureVerificationError('BUNDLE_MALFORMED', (error as Error).message, {
      cause: error,
    });
  }
  if (error.code === 'SIGNATURE_ERROR' || error.code === 'TLOG_BODY_ERROR') {
    return new SignatureVerificationError(
      'SIGNATURE_INVALID',
      `the signature does not match the signed content: it was changed after signing (${error.message})`,
      { cause: error },
    );
  }
  return new SignatureVerificationError(
    'CERTIFICATE_UNTRUSTED',
    `the signing certificate or its transparency evidence is not trusted (${error.code}: ${error.message})`,
    { cause: error },
  );
}

function verifyKeyed(bundle: Bundle, artifact: SignedArtifact, keys: TrustedKey[]): VerifiedSigner {
  if (keys.length === 0) {
    throw new SignatureVerificationError(
      'KEY_UNTRUSTED',
      'signed with a key, but the policy trusts no keys',
    );
  }
  // Keys are the root of trust: transparency-log entries are not required (private KMS keys
  // usually sign without Rekor), so they are left out rather than checked against no log.
  const entity = { ...entityOf(bundle, artifact), tlogEntries: [], timestamps: [] };
  const hint =
    bundle.verificationMaterial.content.$case === 'publicKey'
      ? bundle.verificationMaterial.content.publicKey.hint
      : '';
  // Our hint is hex, cosign's (sigstore-go) base64 of the same sha256 of the SPKI.
  const named = hint ? keys.find((k) => keyed(k.publicKeyPem)?.hints.includes(hint)) : undefined;
  for (const key of named ? [named] : keys) {
    const verifier = keyed(key.publicKeyPem)?.verifier;
    if (!verifier) continue;
    try {
      verifier.verify(entity);
      return { signer: key.name };
    } catch (error) {
      if (named) throw verificationCode(error);
    }
  }
  throw new SignatureVerificationError(
    'KEY_UNTRUSTED',
    `signed with a key the policy does not trust (tried ${keys.map((k) => k.name).join(', ')})`,
  );
}

/**
 * Which trusted key made `signature` over `digest` (ECDSA P-256, prehashed), trying at most
 * `limit` keys: evidence for a hint-less signature that failed over its current payload.
 * Each try is a curve computation in JavaScript (noble-curves, ~3 ms CPU), hence the bound.
 */
export async function keySignedDigest(
  signature: Buffer,
  digest: Buffer,
  keys: TrustedKey[],
  limit: number,
): Promise<TrustedKey | undefined> {
  const artifact = await digestArtifact(digest);
  return keys.slice(0, limit).find((key) => {
    const publicKey = keyed(key.publicKeyPem)?.publicKey;
    return publicKey !== undefined && artifact.verifySignature(publicKey, signature);
  });
}

interface KeyEntry {
  hints: string[];
  verifier: Verifier;
  publicKey: KeyObject;
}

/**
 * Parsed keys and their verifiers, by PEM: a policy names few keys, each used often. Sized
 * to the most a policy may name, so one policy's keys never evict each other.
 */
const keyCache = new Map<string, KeyEntry | undefined>();

function keyed(pem: string): KeyEntry | undefined {
  if (!keyCache.has(pem)) {
    let entry: KeyEntry | undefined;
    try {
      const publicKey = createPublicKey(pem);
      const trust = toTrustMaterial(EMPTY_ROOT, () => ({ publicKey, validFor: () => true }));
      const options = { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 };
      const hex = keyHint(pem);
      const hints = [hex, Buffer.from(hex, 'hex').toString('base64')];
      entry = { hints, verifier: new Verifier(trust, options), publicKey };
    } catch {
      entry = undefined; // an unparseable key verifies nothing
    }
    if (keyCache.size >= POLICY_LIMITS.maxKeys) keyCache.clear();
    keyCache.set(pem, entry);
  }
  return keyCache.get(pem);
}

/** Trust material parsed once per trusted root (certificates, log keys). */
const keylessVerifiers = new WeakMap<TrustedRoot, Verifier>();

/** Issuer exact; subject a glob (`*` crosses `/`) or a regular expression, as cosign reads them. */
export function identityMatches(
  identity: { issuer: string; subject: string },
  allowed: KeylessIdentity,
): boolean {
  if (identity.issuer !== allowed.issuer) return false;
  if (allowed.subject !== undefined && !matchesGlob(identity.subject, allowed.subject, 'text'))
    return false;
  if (
    allowed.subjectRegExp !== undefined &&
    !new RegExp(allowed.subjectRegExp).test(identity.subject)
  )
    return false;
  return true;
}

function verifyKeyless(
  bundle: Bundle,
  artifact: SignedArtifact,
  trust: VerificationTrust,
): VerifiedSigner {
  if (trust.keyless.length === 0) {
    throw new SignatureVerificationError(
      'IDENTITY_MISMATCH',
      'signed keyless, but the policy trusts no keyless identities',
    );
  }
  if (!trust.trustedRoot) {
    throw new SignatureVerificationError(
      'TRUSTED_ROOT_MISSING',
      'keyless signatures need a trusted root (Fulcio CA, Rekor and CT log keys): configure one',
    );
  }
  // Fulcio certificates live minutes: a Rekor entry (or TSA timestamp) must prove the
  // signature was made while the certificate was valid, and an SCT that it was logged.
  let verifier = keylessVerifiers.get(trust.trustedRoot);
  if (!verifier) {
    verifier = new Verifier(toTrustMaterial(trust.trustedRoot), {
      tlogThreshold: 1,
      ctlogThreshold: 1,
      timestampThreshold: 1,
    });
    keylessVerifiers.set(trust.trustedRoot, verifier);
  }
  let signer: ReturnType<Verifier['verify']>;
  try {
    signer = verifier.verify(entityOf(bundle, artifact));
  } catch (error) {
    throw verificationCode(error);
  }
  const identity = {
    issuer: signer.identity?.extensions?.issuer ?? '',
    subject: signer.identity?.subjectAlternativeName ?? '',
  };
  if (!trust.keyless.some((allowed) => identityMatches(identity, allowed))) {
    throw new SignatureVerificationError(
      'IDENTITY_MISMATCH',
      `signed by ${identity.subject || 'an unnamed subject'} (issuer ${identity.issuer || 'unknown'}), which the policy does not trust`,
    );
  }
  return { signer: `${identity.issuer} ${identity.subject}`, identity };
}

/**
 * Verifies a bundle offline against the policy's trust: a public-key bundle against the
 * keys, a certificate bundle against the trusted root and the keyless identities.
 */
export function verifyBundleWithTrust(
  bundle: Bundle,
  trust: VerificationTrust,
  artifact?: SignedArtifact,
): VerifiedSigner {
  return bundle.verificationMaterial.content.$case === 'publicKey'
    ? verifyKeyed(bundle, artifact, trust.keys)
    : verifyKeyless(bundle, artifact, trust);
}
