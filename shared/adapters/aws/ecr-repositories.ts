import {
  BatchGetImageCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { INDEX_MEDIA_TYPES } from '../../domain/image-facts';
import { ecrRegistry } from '../../domain/image-ref';
import type { IndexChildren } from '../../domain/rescan';
import type { RepositorySource } from '../../ports/rescan';
import type { RetryOptions } from '../../retry';
import { platformManifests } from './ecr';
import { callEcr, ecrTarget, sharedEcrClient } from './ecr-calls';

export interface EcrRepositorySourceOptions {
  clientFor?: (region: string) => ECRClient;
  retry?: RetryOptions;
}

/** BatchGetImage takes at most 100 image ids per call. */
const BATCH = 100;

/** Repositories of an ECR registry (DescribeRepositories) and the children of its indexes (BatchGetImage). */
export class EcrRepositorySource implements RepositorySource {
  private readonly clientFor: (region: string) => ECRClient;

  constructor(private readonly options: EcrRepositorySourceOptions = {}) {
    this.clientFor = options.clientFor ?? sharedEcrClient;
  }

  async *listRepositories(registry: string): AsyncIterable<string[]> {
    const { client, registryId } = this.target(registry);
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.call(`DescribeRepositories ${registry}`, () =>
        client.send(
          new DescribeRepositoriesCommand({
            registryId,
            maxResults: 1000,
            ...(token && { nextToken: token }),
          }),
        ),
      );
      yield (page.repositories ?? []).flatMap((r) => (r.repositoryName ? [r.repositoryName] : []));
      nextToken = page.nextToken;
    } while (nextToken);
  }

  /** The registry of the calling account in `region`, from its first repository. */
  async defaultRegistry(region: string): Promise<string | undefined> {
    const client = this.clientFor(region);
    const page = await this.call(`DescribeRepositories (${region})`, () =>
      client.send(new DescribeRepositoriesCommand({ maxResults: 1 })),
    );
    const id = page.repositories?.[0]?.registryId;
    return id ? ecrRegistry(id, region) : undefined;
  }

  async indexChildren(
    registry: string,
    repository: string,
    indexDigests: string[],
  ): Promise<Map<string, IndexChildren>> {
    const { client, registryId } = this.target(registry);
    const children = new Map<string, IndexChildren>();
    for (let i = 0; i < indexDigests.length; i += BATCH) {
      const batch = indexDigests.slice(i, i + BATCH);
      const out = await this.call(`BatchGetImage ${registry}/${repository}`, () =>
        client.send(
          new BatchGetImageCommand({
            registryId,
            repositoryName: repository,
            imageIds: batch.map((imageDigest) => ({ imageDigest })),
            acceptedMediaTypes: [...INDEX_MEDIA_TYPES],
          }),
        ),
      );
      // Ids in `failures` (deleted meanwhile) are left out.
      for (const image of out.images ?? []) {
        const digest = image.imageId?.imageDigest;
        if (digest && image.imageManifest) children.set(digest, childrenOf(image.imageManifest));
      }
    }
    return children;
  }

  private target(registry: string) {
    return ecrTarget(registry, this.clientFor);
  }

  private call<T>(what: string, task: () => Promise<T>): Promise<T> {
    return callEcr(what, task, this.options.retry);
  }
}

/** Every child of an index (attestation manifests too), and the platform manifests ECR scans. */
export function childrenOf(manifestJson: string): IndexChildren {
  const index = JSON.parse(manifestJson) as { manifests?: { digest?: string }[] };
  return {
    platforms: platformManifests(manifestJson).map((p) => p.digest),
    all: (index.manifests ?? []).flatMap((m) => (m.digest ? [m.digest] : [])),
  };
}
