import { createHash } from 'node:crypto';
import { type Bundle, bundleToJSON } from '@sigstore/bundle';
import type { RegistryClient } from '../../shared/adapters/oci/client';
import { digestTag, EMPTY_CONFIG, manifestBytes } from '../../shared/adapters/oci/manifest';
import {
  COSIGN_SIMPLESIGNING,
  OCI_CONFIG,
  OCI_EMPTY_BLOB,
  OCI_MANIFEST,
  SIGSTORE_BUNDLE_V03,
} from '../../shared/adapters/oci/media-types';
import { attachReferrer } from '../../shared/adapters/oci/referrers';
import { legacyAnnotations } from '../../shared/adapters/sigstore/cosign-legacy';
import { BUNDLE_PREDICATE_ANNOTATION } from '../../shared/adapters/sigstore/image-signatures';
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
