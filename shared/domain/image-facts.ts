import type { ImageKey } from './image-ref';

/** What the registry says about one image, independent of its findings. */
export interface ImageFacts {
  key: ImageKey;
  tags: string[];
  mediaType?: string;
  artifactMediaType?: string;
  pushedAt?: string;
  lastPulledAt?: string;
  sizeBytes?: number;
  /** ECR's scan status word as DescribeImages reports it. */
  scanStatus?: string;
  scanCompletedAt?: string;
  /** Set when this manifest is an artifact about another one (signature, attestation, SBOM). */
  subjectDigest?: string;
  /** Present for an image index: its platform manifests (attestation manifests left out). */
  platforms?: { digest: string; platform: string; scanCompletedAt?: string }[];
}

export const INDEX_MEDIA_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_MEDIA_TYPES.has(mediaType);
}

const COSIGN_TAG = /^sha256-[a-f0-9]{64}(\.(sig|att|sbom))?$/;

/**
 * Signatures, attestations and SBOMs stored beside images (OCI referrers, cosign's
 * `sha256-<hex>.sig` tags) are not workloads: they are never evaluated or admitted.
 */
export function isSupplyChainArtifact(
  facts: Pick<ImageFacts, 'subjectDigest' | 'tags' | 'artifactMediaType'>,
): boolean {
  if (facts.subjectDigest) return true;
  if (facts.tags.length > 0 && facts.tags.every((tag) => COSIGN_TAG.test(tag))) return true;
  return facts.artifactMediaType?.startsWith('application/vnd.dev.sigstore') ?? false;
}
