import { type Bundle, bundleFromJSON, type SerializedBundle } from '@sigstore/bundle';
import { type Statement, statementCovers } from '../../domain/attestation';
import type { ImageKey } from '../../domain/image-ref';
import type { RegistryClient } from '../oci/client';
import {
  type Descriptor,
  digestTag,
  EMPTY_CONFIG,
  manifestBytes,
  parseImageManifest,
} from '../oci/manifest';
import {
  DSSE_ENVELOPE,
  OCI_CONFIG,
  OCI_EMPTY_BLOB,
  OCI_MANIFEST,
  SIGSTORE_BUNDLE_V03,
} from '../oci/media-types';
import { attachReferrer, listReferrers } from '../oci/referrers';
import {
  isSignatureVerificationError,
  parseBundle,
  readStatement,
  SignatureVerificationError,
} from './bundles';
import {
  ANNOTATION,
  dsseEnvelopeJson,
  legacyAnnotations,
  legacyAttestationBundle,
} from './cosign-legacy';
import { BUNDLE_PREDICATE_ANNOTATION } from './image-signatures';
import { type VerificationTrust, type VerifiedSigner, verifyBundleWithTrust } from './verify';

/**
 * Marks our own verdict artifacts (value: our key hint) so we replace them and nothing else.
 * Reverse-domain, as the OCI image spec asks of annotation keys.
 */
export const OWNER_ANNOTATION = 'io.registry-watcher.attestation.owner';
/** What releases before the rename wrote: still read, so re-attesting replaces those too. */
export const LEGACY_OWNER_ANNOTATION = 'dev.registry-watcher.attestation/owner';

/** The owner under either key (own properties only: annotations come from the registry). */
function ownerOf(annotations: Record<string, string> | undefined): string | undefined {
  if (annotations === undefined) return undefined;
  for (const key of [OWNER_ANNOTATION, LEGACY_OWNER_ANNOTATION]) {
    if (Object.hasOwn(annotations, key)) return annotations[key];
  }
  return undefined;
}

export interface AttachedAttestation {
  /** The OCI 1.1 referrer manifest. */
  referrer: Descriptor;
  /** The cosign `sha256-<hex>.att` manifest after our layer was replaced. */
  legacy: { tag: string; digest: string };
}

/**
 * Attaches a DSSE attestation bundle to an image in both formats consumers read:
 * an OCI 1.1 referrer (Kyverno `SigstoreBundle`, cosign v3) and a layer of cosign's
 * `.att` manifest (Kyverno `Cosign`, policy-controller). Our previous one is replaced.
 */
export async function attachAttestation(
  client: RegistryClient,
  image: Pick<ImageKey, 'repository' | 'digest'>,
  serialized: SerializedBundle,
  options: { predicateType: string; owner: string; created: string },
): Promise<AttachedAttestation> {
  const { repository, digest } = image;
  const subject = await client.getManifest(repository, digest);
  const bundle = bundleFromJSON(serialized);
  const ours = (annotations?: Record<string, string>) => ownerOf(annotations) === options.owner;

  await client.pushBlob(repository, OCI_EMPTY_BLOB, EMPTY_CONFIG.mediaType);
  const bundleLayer = await client.pushBlob(
    repository,
    Buffer.from(JSON.stringify(serialized)),
    SIGSTORE_BUNDLE_V03,
  );
  const referrer = await attachReferrer(
    client,
    repository,
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: SIGSTORE_BUNDLE_V03,
      config: EMPTY_CONFIG,
      layers: [bundleLayer],
      subject: { mediaType: subject.mediaType, digest, size: subject.bytes.length },
      annotations: {
        'dev.sigstore.bundle.content': 'dsse-envelope',
        [BUNDLE_PREDICATE_ANNOTATION]: options.predicateType,
        'org.opencontainers.image.created': options.created,
        [OWNER_ANNOTATION]: options.owner,
      },
    },
    { replaces: (d) => ours(d.annotations) },
  );

  const tag = digestTag(digest, '.att');
  const current = await client.findManifest(repository, tag);
  const kept =
    (current && parseImageManifest(current.json)?.layers.filter((l) => !ours(l.annotations))) ?? [];
  const envelope = await client.pushBlob(repository, dsseEnvelopeJson(bundle), DSSE_ENVELOPE);
  const layers: Descriptor[] = [
    ...kept,
    {
      ...envelope,
      annotations: {
        ...legacyAnnotations(bundle),
        [ANNOTATION.predicateType]: options.predicateType,
        [OWNER_ANNOTATION]: options.owner,
      },
    },
  ];
  // cosign's config: an image config listing the layers, so generic tools can read it.
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: '',
      os: '',
      config: {},
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  const config = await client.pushBlob(repository, configBytes, OCI_CONFIG);
  const pushed = await client.putManifest(
    repository,
    tag,
    manifestBytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }),
  );
  return { referrer, legacy: { tag, digest: pushed.digest } };
}

function withOwner(annotations: Record<string, string> | undefined): { owner?: string } {
  const owner = ownerOf(annotations);
  return owner ? { owner } : {};
}

export interface ReadAttestation {
  format: 'sigstore-bundle' | 'cosign-legacy';
  source: string;
  owner?: string;
  bundle?: Bundle;
  problem?: SignatureVerificationError;
}

/** Reads the attestations of one predicate type in both formats, unverified. */
export async function readAttestations(
  client: RegistryClient,
  image: Pick<ImageKey, 'repository' | 'digest'>,
  predicateType: string,
): Promise<ReadAttestation[]> {
  const { repository, digest } = image;
  const found: ReadAttestation[] = [];
  const { descriptors } = await listReferrers(client, repository, digest, SIGSTORE_BUNDLE_V03);
  for (const d of descriptors) {
    if (d.annotations?.[BUNDLE_PREDICATE_ANNOTATION] !== predicateType) continue;
    const manifest = parseImageManifest((await client.getManifest(repository, d.digest)).json);
    const layer = manifest?.layers.find((l) => l.mediaType === SIGSTORE_BUNDLE_V03);
    const entry: ReadAttestation = {
      format: 'sigstore-bundle',
      source: `referrer ${d.digest}`,
      ...withOwner(d.annotations),
    };
    found.push(
      layer
        ? await parsed(entry, () =>
            client
              .getBlob(repository, layer.digest)
              .then((b) => parseBundle(JSON.parse(b.toString()))),
          )
        : entry,
    );
  }
  const tag = digestTag(digest, '.att');
  const legacy = await client.findManifest(repository, tag);
  for (const [i, layer] of (legacy && parseImageManifest(legacy.json)?.layers.entries()) ?? []) {
    if (
      layer.mediaType !== DSSE_ENVELOPE ||
      layer.annotations?.[ANNOTATION.predicateType] !== predicateType
    )
      continue;
    const entry: ReadAttestation = {
      format: 'cosign-legacy',
      source: `${tag} layer ${i}`,
      ...withOwner(layer.annotations),
    };
    found.push(
      await parsed(entry, async () =>
        legacyAttestationBundle({
          payload: await client.getBlob(repository, layer.digest),
          annotations: layer.annotations ?? {},
        }),
      ),
    );
  }
  return found;
}

async function parsed(
  entry: ReadAttestation,
  read: () => Promise<Bundle>,
): Promise<ReadAttestation> {
  try {
    return { ...entry, bundle: await read() };
  } catch (error) {
    if (isSignatureVerificationError(error)) return { ...entry, problem: error };
    if (error instanceof SyntaxError) {
      return {
        ...entry,
        problem: new SignatureVerificationError('BUNDLE_MALFORMED', error.message),
      };
    }
    throw error;
  }
}

/** Verifies one read attestation and returns its statement, which must cover `digest`. */
export function verifyAttestation(
  attestation: ReadAttestation,
  digest: string,
  trust: VerificationTrust,
): { statement: Statement; signer: VerifiedSigner } {
  if (attestation.problem) throw attestation.problem;
  const bundle = attestation.bundle;
  if (bundle?.content.$case !== 'dsseEnvelope') {
    throw new SignatureVerificationError(
      'BUNDLE_MALFORMED',
      `${attestation.source}: not a DSSE attestation`,
    );
  }
  const signer = verifyBundleWithTrust(bundle, trust);
  const statement = readStatement(bundle.content.dsseEnvelope);
  if (!statementCovers(statement, digest)) {
    throw new SignatureVerificationError(
      'DIGEST_MISMATCH',
      `${attestation.source}: the statement is about another image`,
    );
  }
  return { statement, signer };
}
