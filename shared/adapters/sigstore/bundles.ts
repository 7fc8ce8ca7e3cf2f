import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import {
  type Bundle,
  bundleFromJSON,
  bundleToJSON,
  type SerializedBundle,
  toDSSEBundle,
  toMessageSignatureBundle,
} from '@sigstore/bundle';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, VerificationError, Verifier } from '@sigstore/verify';
import { parseStatement, type Statement } from '../../domain/attestation';
import { RegistryWatcherError, type SignatureErrorCode } from '../../domain/errors';
import type { Signer } from '../../ports';

export type { SignatureErrorCode };

/** Why a bundle did not verify, as a code callers can branch on. */
export class SignatureVerificationError extends RegistryWatcherError {
  declare readonly code: SignatureErrorCode;

  constructor(code: SignatureErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * A DSSE payload that is not an in-toto statement: what was signed cannot be told, so no
 * artifact is its subject. A failure, never a pass (cosign refuses it too).
 */
export class UnreadableStatementError extends SignatureVerificationError {
  constructor(readonly payloadType: string) {
    super(
      'STATEMENT_UNREADABLE',
      `the DSSE payload (${payloadType || 'no payloadType'}) is not an in-toto statement ` +
        '(_type https://in-toto.io/Statement/v1 or v0.1, subject[] with digests, predicateType): ' +
        'what it is about cannot be checked, so it verifies nothing. Sign an in-toto statement ' +
        'whose subject is the artifact (cosign attest-blob --type …), or a message signature ' +
        '(cosign sign-blob --bundle …)',
    );
    this.name = 'UnreadableStatementError';
  }
}

/** The in-toto statement a DSSE envelope carries; throws UnreadableStatementError otherwise. */
export function readStatement(envelope: { payload: Buffer; payloadType: string }): Statement {
  const statement = parseStatement(envelope.payload);
  if (!statement) throw new UnreadableStatementError(envelope.payloadType);
  return statement;
}

const EMPTY_TRUSTED_ROOT: TrustedRoot = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot.v0.2+json',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

/** The bundle's key hint: hex sha256 of the key's DER SPKI, stable for one key. */
export function keyHint(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** Signs exact bytes and returns a sigstore bundle v0.3 with a message signature. */
export async function signMessageBundle(data: Buffer, signer: Signer): Promise<SerializedBundle> {
  const [signature, pem] = await Promise.all([signer.sign(data), signer.publicKeyPem()]);
  const bundle = toMessageSignatureBundle({
    digest: createHash('sha256').update(data).digest(),
    signature,
    keyHint: keyHint(pem),
  });
  return bundleToJSON(bundle);
}

/** DSSE pre-authentication encoding: what is actually signed for an envelope. */
export function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

/** Signs a payload as a DSSE envelope inside a sigstore bundle v0.3 with a public-key hint. */
export async function signDsseBundle(
  payload: Buffer,
  payloadType: string,
  signer: Signer,
): Promise<SerializedBundle> {
  const [signature, pem] = await Promise.all([
    signer.sign(preAuthEncoding(payloadType, payload)),
    signer.publicKeyPem(),
  ]);
  const bundle = toDSSEBundle({
    artifact: payload,
    artifactType: payloadType,
    signature,
    keyHint: keyHint(pem),
  });
  // sigstore-go (cosign, Kyverno) skips a signature whose non-empty keyid is not its own
  // key id; cosign itself writes none. The hint stays in verificationMaterial.
  for (const s of bundle.content.dsseEnvelope.signatures) s.keyid = '';
  return bundleToJSON(bundle);
}

export function parseBundle(json: unknown): Bundle {
  try {
    return bundleFromJSON(json);
  } catch (error) {
    throw new SignatureVerificationError(
      'BUNDLE_MALFORMED',
      `not a sigstore bundle: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

function keyObject(publicKeyPem: string): KeyObject {
  try {
    return createPublicKey(publicKeyPem);
  } catch (error) {
    throw new SignatureVerificationError('KEY_INVALID', 'the public key is not a valid PEM key', {
      cause: error,
    });
  }
}

/** Offline verification against one public key: no transparency log, no TUF fetch. */
function verifyWithKey(bundle: Bundle, publicKeyPem: string, artifact?: Buffer): void {
  const publicKey = keyObject(publicKeyPem);
  const trust = toTrustMaterial(EMPTY_TRUSTED_ROOT, () => ({ publicKey, validFor: () => true }));
  const verifier = new Verifier(trust, {
    tlogThreshold: 0,
    ctlogThreshold: 0,
    timestampThreshold: 0,
  });
  try {
    verifier.verify(toSignedEntity(bundle, artifact));
  } catch (error) {
    if (error instanceof VerificationError) {
      throw new SignatureVerificationError(
        'SIGNATURE_INVALID',
        `the signature does not verify with this public key (${error.message})`,
        { cause: error },
      );
    }
    throw new SignatureVerificationError('BUNDLE_MALFORMED', (error as Error).message, {
      cause: error,
    });
  }
}

/** Verifies a message-signature bundle over exact bytes. */
export function verifyMessageBundle(data: Buffer, bundleJson: unknown, publicKeyPem: string): void {
  const bundle = parseBundle(bundleJson);
  if (bundle.content.$case !== 'messageSignature') {
    throw new SignatureVerificationError(
      'BUNDLE_MALFORMED',
      'expected a message signature, found a DSSE envelope',
    );
  }
  // Checked first so a changed file and a wrong key are told apart.
  const signed = bundle.content.messageSignature.messageDigest?.digest;
  if (signed && !createHash('sha256').update(data).digest().equals(signed)) {
    throw new SignatureVerificationError(
      'DIGEST_MISMATCH',
      'the file does not match the signed digest: it was changed after signing',
    );
  }
  verifyWithKey(bundle, publicKeyPem, data);
}

export function isSignatureVerificationError(error: unknown): error is SignatureVerificationError {
  return error instanceof SignatureVerificationError;
}
