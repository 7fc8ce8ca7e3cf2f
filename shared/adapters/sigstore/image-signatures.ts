import type { Bundle } from '@sigstore/bundle';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { COSIGN_SIGN_PREDICATE_TYPE, statementCovers } from '../../domain/attestation';
import type { ImageFacts } from '../../domain/image-facts';
import { imageId } from '../../domain/image-ref';
import type { SignatureTrust } from '../../domain/policy';
import { checkSignedIdentity } from '../../domain/signed-identity';
import type { SignatureResult } from '../../domain/verdict';
import { type Log, type SignatureVerifier, silentLog } from '../../ports';
import type { RegistryClient } from '../oci/client';
import { isRegistryError } from '../oci/errors';
import { digestTag, type ImageManifest, parseImageManifest } from '../oci/manifest';
import {
  COSIGN_SIGNATURE_ARTIFACT,
  COSIGN_SIMPLESIGNING,
  SIGSTORE_BUNDLE_V03,
} from '../oci/media-types';
import { listReferrers } from '../oci/referrers';
import {
  isSignatureVerificationError,
  parseBundle,
  readStatement,
  SignatureVerificationError,
} from './bundles';
import { checkSimpleSigningPayload, legacySignatureBundle, signedReference } from './cosign-legacy';
import type { KeyResolver } from './trust';
import { diffIds, explainUnhinted, MAX_EXPLAIN_TRIES } from './unhinted';
import { digestArtifact, type SignedArtifact, verifyBundleWithTrust } from './verify';

export const BUNDLE_PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType';

/** One signature found beside an image, ready to verify. */
export interface SignatureCandidate {
  format: 'sigstore-bundle' | 'cosign-legacy';
  /** Where it was found, for reasons: `referrer sha256:…` or `sha256-….sig layer 0`. */
  source: string;
  bundle?: Bundle;
  artifact?: SignedArtifact;
  /** Set when the signature is unusable before any cryptography (malformed, other image). */
  problem?: SignatureVerificationError;
  /** The image the signer named (`critical.identity.docker-reference`), if the format has one. */
  signedReference?: string;
  /**
   * A `.sig` layer's digest as its manifest's config recorded it (`rootfs.diff_ids`): the
   * sha256 cosign signed, read only to explain a failure (unhinted.ts).
   */
  recordedDigest?: () => Promise<string | undefined>;
}

async function referrerSignatures(
  client: RegistryClient,
  repository: string,
  digest: string,
): Promise<SignatureCandidate[]> {
  const { descriptors } = await listReferrers(client, repository, digest);
  const candidates: SignatureCandidate[] = [];
  for (const descriptor of descriptors) {
    const source = `referrer ${descriptor.digest}`;
    if (descriptor.artifactType === COSIGN_SIGNATURE_ARTIFACT) {
      const manifest = parseImageManifest(
        (await client.getManifest(repository, descriptor.digest)).json,
      );
      if (manifest)
        candidates.push(
          ...(await simpleSigningLayers(client, repository, digest, manifest, source)),
        );
      continue;
    }
    if (descriptor.artifactType !== SIGSTORE_BUNDLE_V03) continue;
    const predicateType = descriptor.annotations?.[BUNDLE_PREDICATE_ANNOTATION];
    // Attestations (SLSA, SBOM, our own verdicts) are not image signatures.
    if (predicateType && predicateType !== COSIGN_SIGN_PREDICATE_TYPE) continue;
    const manifest = parseImageManifest(
      (await client.getManifest(repository, descriptor.digest)).json,
    );
    const layer = manifest?.layers.find((l) => l.mediaType === SIGSTORE_BUNDLE_V03);
    if (!layer) {
      candidates.push({ format: 'sigstore-bundle', source, problem: malformed('no bundle layer') });
      continue;
    }
    candidates.push(
      await bundleCandidate(source, await client.getBlob(repository, layer.digest), digest),
    );
  }
  return candidates;
}

async function bundleCandidate(
  source: string,
  blob: Buffer,
  digest: string,
): Promise<SignatureCandidate> {
  const candidate: SignatureCandidate = { format: 'sigstore-bundle', source };
  try {
    const bundle = parseBundle(JSON.parse(blob.toString('utf8')));
    if (bundle.content.$case === 'dsseEnvelope') {
      const statement = readStatement(bundle.content.dsseEnvelope);
      if (statement.predicateType !== COSIGN_SIGN_PREDICATE_TYPE) {
        return {
          ...candidate,
          problem: malformed('the DSSE payload is not a cosign signature statement'),
        };
      }
      if (!statementCovers(statement, digest)) {
        return {
          ...candidate,
          problem: mismatch(
            statement.subject.map((s) => Object.values(s.digest)[0]).join(', '),
            digest,
          ),
        };
      }
      // cosign's simplesigning fields, when a sign statement carries them as its predicate
      const reference = signedReference(
        (statement.predicate as { critical?: unknown } | undefined)?.critical,
      );
      return {
        ...candidate,
        bundle,
        ...(reference !== undefined && { signedReference: reference }),
      };
    }
    // A message signature over the manifest itself: its digest is the image digest.
    const signed = bundle.content.messageSignature.messageDigest?.digest.toString('hex');
    if (`sha256:${signed}` !== digest)
      return { ...candidate, bundle, problem: mismatch(`sha256:${signed}`, digest) };
    return {
      ...candidate,
      bundle,
      artifact: await digestArtifact(Buffer.from(signed ?? '', 'hex')),
    };
  } catch (error) {
    return {
      ...candidate,
      problem: isSignatureVerificationError(error) ? error : malformed((error as Error).message),
    };
  }
}

async function legacySignatures(
  client: RegistryClient,
  repository: string,
  digest: string,
): Promise<SignatureCandidate[]> {
  const tag = digestTag(digest, '.sig');
  const found = await client.findManifest(repository, tag);
  const manifest = found && parseImageManifest(found.json);
  return manifest ? simpleSigningLayers(client, repository, digest, manifest, tag) : [];
}

/** The simplesigning layers of a `.sig` manifest (or of cosign's oci-1-1 signature referrer). */
async function simpleSigningLayers(
  client: RegistryClient,
  repository: string,
  digest: string,
  manifest: ImageManifest,
  where: string,
): Promise<SignatureCandidate[]> {
  const candidates: SignatureCandidate[] = [];
  let config: Promise<string[]> | undefined;
  const recorded = (i: number) => async () => {
    config ??= client.getBlob(repository, manifest.config.digest).then(diffIds, () => []);
    return (await config)[i];
  };
  for (const [i, layer] of manifest.layers.entries()) {
    if (layer.mediaType !== COSIGN_SIMPLESIGNING) continue;
    const source = `${where} layer ${i}`;
    try {
      const payload = await client.getBlob(repository, layer.digest);
      const reference = checkSimpleSigningPayload(payload, digest);
      const bundle = legacySignatureBundle({ payload, annotations: layer.annotations ?? {} });
      candidates.push({
        format: 'cosign-legacy',
        source,
        bundle,
        artifact: { bytes: payload },
        ...(reference !== undefined && { signedReference: reference }),
        recordedDigest: recorded(i),
      });
    } catch (error) {
      if (!isSignatureVerificationError(error)) throw error;
      candidates.push({ format: 'cosign-legacy', source, problem: error });
    }
  }
  return candidates;
}

/**
 * Finds every signature of an image: referrers (sigstore bundles, cosign's oci-1-1
 * simplesigning referrers) and cosign `.sig` layers.
 */
export async function discoverSignatures(
  client: RegistryClient,
  repository: string,
  digest: string,
): Promise<SignatureCandidate[]> {
  const [bundles, legacy] = await Promise.all([
    referrerSignatures(client, repository, digest),
    legacySignatures(client, repository, digest),
  ]);
  return [...bundles, ...legacy];
}

function malformed(message: string): SignatureVerificationError {
  return new SignatureVerificationError('BUNDLE_MALFORMED', message);
}

function mismatch(signed: string, digest: string): SignatureVerificationError {
  return new SignatureVerificationError(
    'DIGEST_MISMATCH',
    `the signature is for ${signed}, not ${digest}`,
  );
}

export interface RegistrySignatureVerifierOptions {
  clientFor: (registry: string) => RegistryClient;
  keys: KeyResolver;
  /** Needed only when a policy trusts keyless identities. */
  trustedRoot?: () => Promise<TrustedRoot>;
  log?: Log;
}

/**
 * Reads an image's signatures from its registry and verifies them offline against the
 * policy's trust. Result: the first signature that verifies, or why none did.
 */
export class RegistrySignatureVerifier implements SignatureVerifier {
  constructor(private readonly options: RegistrySignatureVerifierOptions) {}

  async verify(image: ImageFacts, trust: SignatureTrust): Promise<SignatureResult> {
    const { registry, repository, digest } = image.key;
    let candidates: SignatureCandidate[];
    try {
      candidates = await discoverSignatures(this.options.clientFor(registry), repository, digest);
    } catch (error) {
      // Throttling and outages are retried by the caller; missing permissions are reported.
      if (isRegistryError(error) && !error.retryable) {
        return { status: 'not-checked', reason: `cannot read signatures: ${error.message}` };
      }
      throw error;
    }
    if (candidates.length === 0) return { status: 'unsigned' };
    const resolved = {
      keys: await this.options.keys.resolve(trust.keys),
      keyless: trust.keyless,
      ...(trust.keyless.length > 0 &&
        this.options.trustedRoot && { trustedRoot: await this.options.trustedRoot() }),
    };
    const failures: string[] = [];
    const budget = { tries: MAX_EXPLAIN_TRIES };
    for (const candidate of candidates) {
      if (candidate.problem || !candidate.bundle) {
        failures.push(
          `${candidate.source}: ${candidate.problem?.code}: ${candidate.problem?.message}`,
        );
        continue;
      }
      try {
        const verified = verifyBundleWithTrust(candidate.bundle, resolved, candidate.artifact);
        // After the cryptography: only a signed claim is worth comparing with the image.
        const identity = checkSignedIdentity(
          trust.identity ?? 'ignore',
          candidate.signedReference,
          image,
        );
        if (!identity.ok) {
          const error = new SignatureVerificationError(
            'REFERENCE_MISMATCH',
            `signed by ${verified.signer}, but ${identity.reason}`,
          );
          failures.push(`${candidate.source}: ${error.code}: ${error.message}`);
          continue;
        }
        return { status: 'verified', format: candidate.format, ...verified };
      } catch (error) {
        if (!isSignatureVerificationError(error)) throw error;
        const explained =
          error.code === 'KEY_UNTRUSTED'
            ? await explainUnhinted(candidate, resolved.keys, budget)
            : undefined;
        const reason = explained ?? error;
        failures.push(`${candidate.source}: ${reason.code}: ${reason.message}`);
      }
    }
    (this.options.log ?? silentLog).info('no signature verified', {
      image: imageId(image.key),
      failures,
    });
    const format = candidates[0]?.format;
    return {
      status: 'invalid',
      ...(format && { format }),
      reason: failures.join('; ').slice(0, 1000),
    };
  }
}
