import {
  BatchGetImageCommand,
  type BatchGetImageRequest,
  type BatchGetImageResponse,
  DescribeImageScanFindingsCommand,
  type DescribeImageScanFindingsRequest,
  type DescribeImageScanFindingsResponse,
  DescribeImagesCommand,
  type DescribeImagesRequest,
  type DescribeImagesResponse,
  DescribeRepositoriesCommand,
  type DescribeRepositoriesRequest,
  type ECRClient,
  type ImageDetail,
  ImageNotFoundException,
  LimitExceededException,
  RepositoryNotFoundException,
  ScanNotFoundException,
  StartImageScanCommand,
  type StartImageScanRequest,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { loadFixture } from '../../events';
import { apiNameOf } from '../../shared/adapters/aws/paced-client';
import { DAY_MS } from '../../shared/domain/duration';
import { REGISTRY } from './builders';
import { sdkShape } from './wire';

const INDEX_FIXTURE = sdkShape<BatchGetImageResponse>(loadFixture('ecr/batch-get-image-index'));
const DETAIL = sdkShape<DescribeImagesResponse>(loadFixture('ecr/describe-images'))
  .imageDetails?.[1];
const FINDINGS = sdkShape<DescribeImageScanFindingsResponse>(
  loadFixture('ecr/describe-image-scan-findings-basic'),
);
/** The three child digests written in the index fixture's manifest (amd64, arm64, attestation). */
const FIXTURE_CHILDREN = [
  'sha256:1a91b3113d51f5b585abe9d9ce70c86c497c8013142e3d27e77a94562dcc722e',
  'sha256:5aa8b2318f3d68e22ea79a50e2a8458a26161861747f653a7382f3196f048260',
  'sha256:ec5413aa42201b77990f33938aabd4eac78b71327b8946a87979c278b9e858b5',
];
const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';

export interface SimImage {
  repository: string;
  digest: string;
  tags: string[];
  pushedAt: number;
  /** When ECR last finished a basic scan of it (undefined: never). */
  scannedAt?: number;
  /** Findings as in the basic findings fixture (a CRITICAL among them), or none. */
  vulnerable: boolean;
  /** For an index: amd64, arm64 and buildx attestation manifests, listed untagged as well. */
  children?: [string, string, string];
}

export interface AttachOptions {
  /** Record each call with the simulated time (the planner's client). */
  record?: boolean;
  /** Answer every n-th call of an API with ThrottlingException. */
  throttleEvery?: Partial<Record<string, number>>;
}

const pageOf = <T>(items: T[], token: string | undefined, size: number) => {
  const start = token ? Number(token) : 0;
  const end = start + size;
  return { page: items.slice(start, end), next: end < items.length ? String(end) : undefined };
};

/**
 * An ECR account behind aws-sdk-client-mock: DescribeRepositories, DescribeImages (listing
 * and by digest), DescribeImageScanFindings, BatchGetImage and StartImageScan answer from
 * the images held here, in the shapes of the events/ fixtures. StartImageScan keeps ECR's
 * rule of one basic scan per image per 24 hours (LimitExceededException).
 */
export class SimulatedEcr {
  readonly repositories = new Map<string, Map<string, SimImage>>();
  readonly calls: { api: string; at: number }[] = [];
  readonly scansStarted: string[] = [];
  /** DescribeImages page size (ECR's maxResults is at most 1000). */
  pageSize = 1000;
  /**
   * Whether DescribeImages carries scan status and time. ECR's newer basic scanning leaves
   * them out (events/README.md): then only DescribeImageScanFindings knows.
   */
  listingShowsScans = true;

  constructor(private readonly now: () => number) {}

  add(image: SimImage): void {
    const repo = this.repositories.get(image.repository) ?? new Map<string, SimImage>();
    this.repositories.set(image.repository, repo);
    repo.set(image.digest, image);
    for (const child of image.children ?? []) {
      repo.set(child, { ...image, digest: child, tags: [], children: undefined });
    }
  }

  remove(repository: string, digest: string): void {
    this.repositories.get(repository)?.delete(digest);
  }

  get(repository: string, digest: string): SimImage | undefined {
    return this.repositories.get(repository)?.get(digest);
  }

  /**
   * aws-sdk-client-mock on `client` (or on every ECRClient, given the class), answering
   * every ECR call the watcher makes from this account.
   */
  attach(client: ECRClient | typeof ECRClient, options: AttachOptions = {}) {
    const mock = mockClient(client);
    const gate = this.gate(options);
    const answer =
      <I>(api: string) =>
      (input: I) => {
        gate(api);
        return this.answer(api, input);
      };
    mock
      .on(DescribeRepositoriesCommand)
      .callsFake(answer<DescribeRepositoriesRequest>('DescribeRepositories'));
    mock.on(DescribeImagesCommand).callsFake(answer<DescribeImagesRequest>('DescribeImages'));
    mock
      .on(DescribeImageScanFindingsCommand)
      .callsFake(answer<DescribeImageScanFindingsRequest>('DescribeImageScanFindings'));
    mock.on(BatchGetImageCommand).callsFake(answer<BatchGetImageRequest>('BatchGetImage'));
    mock.on(StartImageScanCommand).callsFake(answer<StartImageScanRequest>('StartImageScan'));
    return mock;
  }

  /**
   * A client answering from the same account without a mock library in between: for the
   * evaluate side, whose 20,000 calls would spend seconds in sinon's call recording.
   */
  lean(): ECRClient {
    // Answers share the fixtures' objects read-only, as the mock's do.
    const send = async (command: object & { input: unknown }) =>
      this.answer(apiNameOf(command), command.input);
    return { send } as unknown as ECRClient;
  }

  private gate(options: AttachOptions): (api: string) => void {
    const counts = new Map<string, number>();
    return (api) => {
      if (options.record) this.calls.push({ api, at: this.now() });
      const n = (counts.get(api) ?? 0) + 1;
      counts.set(api, n);
      const every = options.throttleEvery?.[api];
      if (every && n % every === 0) {
        throw Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottlingException',
          $metadata: { httpStatusCode: 400 },
        });
      }
    };
  }

  private answer(api: string, input: unknown): unknown {
    switch (api) {
      case 'DescribeRepositories':
        return this.describeRepositories(input as DescribeRepositoriesRequest);
      case 'DescribeImages':
        return this.describeImages(input as DescribeImagesRequest);
      case 'DescribeImageScanFindings':
        return this.describeFindings(input as DescribeImageScanFindingsRequest);
      case 'BatchGetImage':
        return this.batchGetImage(input as BatchGetImageRequest);
      case 'StartImageScan':
        return this.startImageScan(input as StartImageScanRequest);
      default:
        throw new Error(`the simulated account does not answer ${api}`);
    }
  }

  private describeRepositories(input: DescribeRepositoriesRequest) {
    const names = [...this.repositories.keys()].sort();
    const { page, next } = pageOf(names, input.nextToken, input.maxResults ?? 100);
    return {
      repositories: page.map((repositoryName) => ({ repositoryName, registryId: '123456789012' })),
      ...(next && { nextToken: next }),
    };
  }

  private describeImages(input: DescribeImagesRequest) {
    const repo = this.repo(input.repositoryName);
    if (input.imageIds) {
      const found = input.imageIds.map((id) => repo.get(id.imageDigest ?? ''));
      if (found.some((f) => !f)) {
        throw new ImageNotFoundException({
          message: 'The image requested does not exist',
          $metadata: {},
        });
      }
      return { imageDetails: found.map((f) => this.detail(f as SimImage)) };
    }
    const size = Math.min(this.pageSize, input.maxResults ?? 100);
    const { page, next } = pageOf([...repo.values()], input.nextToken, size);
    return { imageDetails: page.map((f) => this.detail(f)), ...(next && { nextToken: next }) };
  }

  private describeFindings(input: DescribeImageScanFindingsRequest) {
    const image = this.repo(input.repositoryName).get(input.imageId?.imageDigest ?? '');
    if (!image) throw new ImageNotFoundException({ message: 'no such image', $metadata: {} });
    if (image.scannedAt === undefined) {
      throw new ScanNotFoundException({ message: 'Image scan does not exist', $metadata: {} });
    }
    return this.findings(image);
  }

  private batchGetImage(input: BatchGetImageRequest) {
    const repo = this.repo(input.repositoryName);
    const images = (input.imageIds ?? []).flatMap((id) => {
      const image = repo.get(id.imageDigest ?? '');
      return image?.children ? [this.indexManifest(image)] : [];
    });
    return { images, failures: [] };
  }

  private startImageScan(input: StartImageScanRequest) {
    const image = this.repo(input.repositoryName).get(input.imageId?.imageDigest ?? '');
    if (!image) throw new ImageNotFoundException({ message: 'no such image', $metadata: {} });
    if (image.scannedAt !== undefined && this.now() - image.scannedAt < DAY_MS) {
      throw new LimitExceededException({
        message: 'The scan quota per image has been exceeded. Wait and try again.',
        $metadata: {},
      });
    }
    image.scannedAt = this.now(); // basic scans finish in seconds; the simulation at once
    this.scansStarted.push(image.digest);
    return { imageScanStatus: { status: 'IN_PROGRESS' }, imageId: input.imageId };
  }

  private repo(name: string | undefined): Map<string, SimImage> {
    const repo = this.repositories.get(name ?? '');
    if (!repo) {
      throw new RepositoryNotFoundException({
        message: `repository ${name} not found`,
        $metadata: {},
      });
    }
    return repo;
  }

  private detail(image: SimImage): ImageDetail {
    const scanned = image.scannedAt !== undefined;
    const { imageScanStatus: _s, imageScanFindingsSummary: summary, ...base } = DETAIL ?? {};
    return {
      ...base,
      repositoryName: image.repository,
      imageDigest: image.digest,
      imageTags: image.tags,
      imagePushedAt: new Date(image.pushedAt),
      ...(image.children && { imageManifestMediaType: INDEX_TYPE, artifactMediaType: undefined }),
      ...(scanned &&
        this.listingShowsScans &&
        !image.children && {
          imageScanStatus: {
            status: 'COMPLETE',
            description: 'The scan was completed successfully.',
          },
          imageScanFindingsSummary: {
            ...summary,
            imageScanCompletedAt: new Date(image.scannedAt as number),
            findingSeverityCounts: image.vulnerable ? summary?.findingSeverityCounts : {},
          },
        }),
    };
  }

  private findings(image: SimImage): DescribeImageScanFindingsResponse {
    const body = FINDINGS.imageScanFindings;
    return {
      ...FINDINGS,
      repositoryName: image.repository,
      imageId: { imageDigest: image.digest },
      imageScanFindings: {
        ...body,
        imageScanCompletedAt: new Date(image.scannedAt as number),
        ...(!image.vulnerable && { findings: [], findingSeverityCounts: {} }),
      },
    };
  }

  private indexManifest(image: SimImage) {
    const template = INDEX_FIXTURE.images?.[0];
    let manifest = template?.imageManifest ?? '';
    FIXTURE_CHILDREN.forEach((fixture, i) => {
      manifest = manifest.replace(fixture, image.children?.[i] ?? fixture);
    });
    return {
      ...template,
      repositoryName: image.repository,
      imageId: { imageDigest: image.digest },
      imageManifest: manifest,
    };
  }
}

export { REGISTRY };
