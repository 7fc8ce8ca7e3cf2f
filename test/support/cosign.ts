import { createHash, createPublicKey } from 'node:crypto';
import { type Bundle, bundleToJSON } from '@sigstore/bundle';
import type { RegistryClient } from '../../shared/adapters/oci/client';
import {
  digestTag,
  EMPTY_CONFIG,
  manifestBytes,
  parseIndex,
  sha256Digest,
} from '../../shared/adapters/oci/manifest';
import {
  COSIGN_SIMPLESIGNING,
  DSSE_ENVELOPE,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_EMPTY_BLOB,
  OCI_INDEX,
  OCI_MANIFEST,
  SIGSTORE_BUNDLE_V03,
} from '../../shared/adapters/oci/media-types';
import { attachReferrer } from '../../shared/adapters/oci/referrers';
import { preAuthEncoding } from '../../shared/adapters/sigstore/bundles';
import { ANNOTATION, legacyAnnotations } from '../../shared/adapters/sigstore/cosign-legacy';
import { BUNDLE_PREDICATE_ANNOTATION } from '../../shared/adapters/sigstore/image-signatures';
import { IN_TOTO_PAYLOAD_TYPE } from '../../shared/domain/attestation';
import type { Signer } from '../../shared/ports';
import type { BuiltImage } from './oci-images';

/** Writes signatures the way cosign stores them, for the verifier to find. */

/** cosign (legacy): a `sha256-<hex>.sig` manifest with one simplesigning layer per signature. */
export async function pushLegacySignature(
  client: RegistryClient,
  repository: string,
  image: BuiltImage,
  signatures: { payload: Buffer; bundle: Bundle }[],
): Promise<void> {
  const layers = [];
  for (const { payload, bundle } of signatures) {
    const layer = await client.pushBlob(repository, payload, COSIGN_SIMPLESIGNING);
    layers.push({ ...layer, annotations: legacyAnnotations(bundle) });
  }
  const config = await client.pushBlob(
    repository,
    Buffer.from(
      JSON.stringify({
        architecture: '',
        os: '',
        config: {},
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      }),
    ),
    OCI_CONFIG,
  );
  await client.putManifest(
    repository,
    digestTag(image.digest, '.sig'),
    manifestBytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }),
  );
}

/** cosign v3: the bundle as an OCI 1.1 referrer of the image. */
export async function pushBundleReferrer(
  client: RegistryClient,
  repository: string,
  image: BuiltImage,
  bundle: Bundle,
  predicateType?: string,
): Promise<void> {
  await client.pushBlob(repository, OCI_EMPTY_BLOB, EMPTY_CONFIG.mediaType);
  const layer = await client.pushBlob(
    repository,
    Buffer.from(JSON.stringify(bundleToJSON(bundle))),
    SIGSTORE_BUNDLE_V03,
  );
  await attachReferrer(client, repository, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: SIGSTORE_BUNDLE_V03,
    config: EMPTY_CONFIG,
    layers: [layer],
    subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
    annotations: {
      'dev.sigstore.bundle.content':
        bundle.content.$case === 'dsseEnvelope' ? 'dsse-envelope' : 'message-signature',
      ...(predicateType && { [BUNDLE_PREDICATE_ANNOTATION]: predicateType }),
    },
  });
}

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

/**
 * What cosign 2.5 writes, byte-shaped from its source (v2.5.0), signed here with our own
 * keys so the tests need no cosign binary.
 */
/** cosign's key hint (sigstore-go, cosign makeNewBundle): base64 of sha256(DER SPKI). */
export function cosignKeyHint(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/** `attestation.GenerateStatement`: in-toto v0.1, subject = repository + digest. */
export function cosignStatement(
  repository: string,
  digest: string,
  predicateType: string,
  predicate: unknown,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType,
      subject: [{ name: repository, digest: { sha256: digest.slice(7) } }],
      predicate,
    }),
  );
}

/** sigstore's `dsse.WrapSigner`: the envelope JSON, `keyid` always empty. */
export async function cosignEnvelope(statement: Buffer, signer: Signer): Promise<Buffer> {
  const signature = await signer.sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement));
  return Buffer.from(
    JSON.stringify({
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      payload: statement.toString('base64'),
      signatures: [{ keyid: '', sig: signature.toString('base64') }],
    }),
  );
}

/** `cosign attest --key` (legacy): the envelope as a layer of `sha256-<hex>.att`. */
export async function pushCosignAttestation(
  client: RegistryClient,
  repository: string,
  image: BuiltImage,
  envelope: Buffer,
  predicateType: string,
): Promise<void> {
  const layer = await client.pushBlob(repository, envelope, DSSE_ENVELOPE);
  const config = await client.pushBlob(
    repository,
    Buffer.from(
      JSON.stringify({
        architecture: '',
        os: '',
        config: {},
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      }),
    ),
    OCI_CONFIG,
  );
  const annotated = {
    ...layer,
    annotations: { [ANNOTATION.signature]: '', [ANNOTATION.predicateType]: predicateType },
  };
  await client.putManifest(
    repository,
    digestTag(image.digest, '.att'),
    manifestBytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [annotated] }),
  );
}

/**
 * `cosign attest --new-bundle-format --key`: protojson of the bundle (empty fields left
 * out: no keyid, no tlogEntries), the key hint in cosign's base64 form.
 */
export async function cosignBundle(statement: Buffer, signer: Signer): Promise<Buffer> {
  const [signature, pem] = await Promise.all([
    signer.sign(preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, statement)),
    signer.publicKeyPem(),
  ]);
  return Buffer.from(
    JSON.stringify({
      mediaType: SIGSTORE_BUNDLE_V03,
      verificationMaterial: { publicKey: { hint: cosignKeyHint(pem) } },
      dsseEnvelope: {
        payload: statement.toString('base64'),
        payloadType: IN_TOTO_PAYLOAD_TYPE,
        signatures: [{ sig: signature.toString('base64') }],
      },
    }),
  );
}

/**
 * `ociremote.WriteAttestationNewBundleFormat` on a registry without the referrers API:
 * the referrer manifest carries artifactType and annotations, but go-containerregistry's
 * fallback index entry copies only the config media type (the empty type), no annotations.
 */
export async function pushCosignBundleReferrer(
  client: RegistryClient,
  repository: string,
  image: BuiltImage,
  bundle: Buffer,
  predicateType: string,
): Promise<string> {
  const config = await client.pushBlob(repository, OCI_EMPTY_BLOB, OCI_CONFIG);
  const layer = await client.pushBlob(repository, bundle, SIGSTORE_BUNDLE_V03);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { ...config, mediaType: OCI_EMPTY, artifactType: SIGSTORE_BUNDLE_V03 },
      layers: [layer],
      subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
      annotations: {
        'org.opencontainers.image.created': '2026-12-03T00:00:00Z',
        'dev.sigstore.bundle.content': 'dsse-envelope',
        [BUNDLE_PREDICATE_ANNOTATION]: predicateType,
      },
      artifactType: SIGSTORE_BUNDLE_V03,
    }),
  );
  const pushed = await client.putManifest(repository, sha256Digest(manifest), manifest);
  if (!pushed.subjectProcessed) {
    const tag = digestTag(image.digest);
    const current = await client.findManifest(repository, tag);
    const entries = current ? (parseIndex(current.json)?.manifests ?? []) : [];
    const entry = {
      artifactType: OCI_EMPTY,
      mediaType: OCI_MANIFEST,
      digest: pushed.digest,
      size: manifest.length,
    };
    await client.putManifest(
      repository,
      tag,
      manifestBytes({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...entries, entry] }),
    );
  }
  return pushed.digest;
}
