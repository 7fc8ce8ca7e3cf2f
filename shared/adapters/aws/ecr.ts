import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  type DescribeImageScanFindingsResponse,
  DescribeImagesCommand,
  type ECRClient,
  type ImageDetail,
} from '@aws-sdk/client-ecr';
import { UpstreamError } from '../../domain/errors';
import type { ScanFindings } from '../../domain/findings';
import { type ImageFacts, INDEX_MEDIA_TYPES, isIndexMediaType } from '../../domain/image-facts';
import { type ImageKey, imageId } from '../../domain/image-ref';
import type { ScanningMode } from '../../domain/rescan';
import type { FindingsSource, ImageSource } from '../../ports';
import type { RetryOptions } from '../../retry';
import { callEcr, ecrTarget, sharedEcrClient } from './ecr-calls';
import { ECR_SCANNERS, mergeScanFindingPages, normaliseScanFindings } from './ecr-findings';
import { toIso } from './timestamps';

export interface EcrAdapterOptions {
  /** One client per region; created lazily and reused across invocations. */
  clientFor?: (region: string) => ECRClient;
  /** Enhanced (Inspector) findings come in pages of at most 100. */
  scanning?: ScanningMode;
  retry?: RetryOptions;
}

const NOT_FOUND = new Set(['ImageNotFoundException', 'RepositoryNotFoundException']);
const ACCEPTED_MANIFESTS = [
  ...INDEX_MEDIA_TYPES,
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

/** ECR as an image and findings source (DescribeImages, BatchGetImage, DescribeImageScanFindings). */
export class EcrAdapter implements ImageSource, FindingsSource {
  private readonly clientFor: (region: string) => ECRClient;
  private readonly pageSize: number;
  readonly scanners = ECR_SCANNERS;

  constructor(private readonly options: EcrAdapterOptions = {}) {
    this.clientFor = options.clientFor ?? sharedEcrClient;
    this.pageSize = options.scanning === 'enhanced' ? 100 : 1000;
  }

  async describeImage(key: ImageKey): Promise<ImageFacts | undefined> {
    const { client, registryId } = this.target(key.registry);
    const detail = await this.call(`DescribeImages ${imageId(key)}`, async () => {
      try {
        const out = await client.send(
          new DescribeImagesCommand({
            registryId,
            repositoryName: key.repository,
            imageIds: [{ imageDigest: key.digest }],
          }),
        );
        return out.imageDetails?.[0];
      } catch (error) {
        if (NOT_FOUND.has((error as Error).name)) return undefined;
        throw error;
      }
    });
    if (!detail) return undefined;
    const facts = factsOf(key.registry, detail);
    if (isIndexMediaType(facts.mediaType)) facts.platforms = await this.platformsOf(key);
    return facts;
  }

  async *listImages(registry: string, repository: string): AsyncIterable<ImageFacts[]> {
    const { client, registryId } = this.target(registry);
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.call(`DescribeImages ${registry}/${repository}`, () =>
        client.send(
          new DescribeImagesCommand({
            registryId,
            repositoryName: repository,
            maxResults: 1000,
            ...(token && { nextToken: token }),
          }),
        ),
      );
      yield (page.imageDetails ?? []).map((d) => factsOf(registry, d));
      nextToken = page.nextToken;
    } while (nextToken);
  }

  async getFindings(key: ImageKey): Promise<ScanFindings> {
    const { client, registryId } = this.target(key.registry);
    const pages: ScanFindings[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.call(`DescribeImageScanFindings ${imageId(key)}`, async () => {
        try {
          return await client.send(
            new DescribeImageScanFindingsCommand({
              registryId,
              repositoryName: key.repository,
              imageId: { imageDigest: key.digest },
              maxResults: this.pageSize,
              ...(token && { nextToken: token }),
            }),
          );
        } catch (error) {
          if ((error as Error).name === 'ScanNotFoundException') return notScanned(error as Error);
          throw error;
        }
      });
      pages.push(normaliseScanFindings(page, `DescribeImageScanFindings ${imageId(key)}`));
      nextToken = page.nextToken;
    } while (nextToken);
    return mergeScanFindingPages(pages);
  }

  private async platformsOf(key: ImageKey): Promise<ImageFacts['platforms']> {
    const { client, registryId } = this.target(key.registry);
    const out = await this.call(`BatchGetImage ${imageId(key)}`, () =>
      client.send(
        new BatchGetImageCommand({
          registryId,
          repositoryName: key.repository,
          imageIds: [{ imageDigest: key.digest }],
          acceptedMediaTypes: ACCEPTED_MANIFESTS,
        }),
      ),
    );
    const manifest = out.images?.[0]?.imageManifest;
    if (!manifest) {
      throw new UpstreamError(
        'UPSTREAM_FAILURE',
        `BatchGetImage returned no manifest for ${imageId(key)}`,
      );
    }
    return platformManifests(manifest);
  }

  private target(registry: string): { client: ECRClient; registryId: string } {
    return ecrTarget(registry, this.clientFor);
  }

  private call<T>(what: string, task: () => Promise<T>): Promise<T> {
    return callEcr(what, task, this.options.retry);
  }
}

function notScanned(error: Error): DescribeImageScanFindingsResponse {
  return { imageScanStatus: { status: 'FAILED', description: `no scan: ${error.message}` } };
}

/** ImageFacts from one DescribeImages entry. */
export function factsOf(registry: string, detail: ImageDetail): ImageFacts {
  const facts: ImageFacts = {
    key: { registry, repository: detail.repositoryName ?? '', digest: detail.imageDigest ?? '' },
    tags: detail.imageTags ?? [],
  };
  const set = <K extends keyof ImageFacts>(k: K, v: ImageFacts[K] | undefined) => {
    if (v !== undefined) facts[k] = v;
  };
  set('mediaType', detail.imageManifestMediaType);
  set('artifactMediaType', detail.artifactMediaType);
  set('pushedAt', toIso(detail.imagePushedAt));
  set('lastPulledAt', toIso(detail.lastRecordedPullTime));
  set('sizeBytes', detail.imageSizeInBytes);
  set('scanStatus', detail.imageScanStatus?.status);
  set('scanCompletedAt', toIso(detail.imageScanFindingsSummary?.imageScanCompletedAt));
  set('subjectDigest', detail.subjectManifestDigest);
  return facts;
}

interface IndexManifest {
  manifests?: {
    digest?: string;
    platform?: { os?: string; architecture?: string; variant?: string };
    annotations?: Record<string, string>;
  }[];
}

/** Platform manifests of an index; buildx attestation manifests (unknown/unknown) are not images. */
export function platformManifests(manifestJson: string): { digest: string; platform: string }[] {
  const index = JSON.parse(manifestJson) as IndexManifest;
  return (index.manifests ?? []).flatMap((m) => {
    if (!m.digest) return [];
    if (m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return [];
    const p = m.platform;
    if (p?.os === 'unknown' || p?.architecture === 'unknown') return [];
    const platform = p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : 'unknown';
    return [{ digest: m.digest, platform }];
  });
}
