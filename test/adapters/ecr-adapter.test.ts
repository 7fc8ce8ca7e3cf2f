import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  type DescribeImageScanFindingsResponse,
  DescribeImagesCommand,
  type DescribeImagesResponse,
  ECRClient,
  ImageNotFoundException,
  ScanNotFoundException,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { loadFixture } from '../../events';
import { EcrAdapter } from '../../shared/adapters/aws/ecr';
import { UpstreamError } from '../../shared/domain/errors';
import { sdkShape } from '../support/wire';

const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const INDEX = 'sha256:73235fc137395a546bbc3ff6f9b989cd7afcaf4c09e611e63b46c4ec18f43b4e';
const AMD64 = 'sha256:1a91b3113d51f5b585abe9d9ce70c86c497c8013142e3d27e77a94562dcc722e';

const ecr = mockClient(ECRClient);
const noWait = { sleep: async () => {}, random: () => 0 };

function adapter(scanning: 'basic' | 'enhanced' = 'basic') {
  return new EcrAdapter({
    clientFor: () => new ECRClient({ region: 'eu-west-1' }),
    scanning,
    retry: noWait,
  });
}

function describeImages(): DescribeImagesResponse {
  return sdkShape(loadFixture('ecr/describe-images'));
}

function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });
}

beforeEach(() => ecr.reset());

describe('EcrAdapter.describeImage', () => {
  it('reads one image with its tags, media type and times', async () => {
    const detail = describeImages().imageDetails?.find((d) => d.imageDigest === AMD64);
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: detail ? [detail] : [] });
    const facts = await adapter().describeImage({
      registry: REGISTRY,
      repository: 'prod/api',
      digest: AMD64,
    });
    expect(facts).toMatchObject({
      key: { registry: REGISTRY, repository: 'prod/api', digest: AMD64 },
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      pushedAt: expect.stringMatching(/^20\d\d-/),
    });
    expect(ecr.commandCalls(DescribeImagesCommand)[0]?.args[0].input).toEqual({
      registryId: '123456789012',
      repositoryName: 'prod/api',
      imageIds: [{ imageDigest: AMD64 }],
    });
  });

  it('lists the platforms of an image index, without buildx attestation manifests', async () => {
    const detail = describeImages().imageDetails?.find((d) => d.imageDigest === INDEX);
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: detail ? [detail] : [] });
    ecr.on(BatchGetImageCommand).resolves(sdkShape(loadFixture('ecr/batch-get-image-index')));
    const facts = await adapter().describeImage({
      registry: REGISTRY,
      repository: 'prod/api',
      digest: INDEX,
    });
    expect(facts?.tags).toEqual(['1.4.2', 'latest']);
    expect(facts?.platforms).toEqual([
      { digest: AMD64, platform: 'linux/amd64' },
      {
        digest: 'sha256:5aa8b2318f3d68e22ea79a50e2a8458a26161861747f653a7382f3196f048260',
        platform: 'linux/arm64',
      },
    ]);
    const input = ecr.commandCalls(BatchGetImageCommand)[0]?.args[0].input;
    expect(input?.acceptedMediaTypes).toContain('application/vnd.oci.image.index.v1+json');
  });

  it('returns undefined for an image or repository that is gone', async () => {
    ecr
      .on(DescribeImagesCommand)
      .rejects(new ImageNotFoundException({ message: 'gone', $metadata: {} }));
    await expect(
      adapter().describeImage({ registry: REGISTRY, repository: 'prod/api', digest: AMD64 }),
    ).resolves.toBeUndefined();
  });

  it('retries throttling with backoff, then succeeds', async () => {
    ecr
      .on(DescribeImagesCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolves({ imageDetails: [] });
    const delays: number[] = [];
    const a = new EcrAdapter({
      clientFor: () => new ECRClient({ region: 'eu-west-1' }),
      retry: { sleep: async (ms) => void delays.push(ms), random: () => 1, baseDelayMs: 100 },
    });
    await a.describeImage({ registry: REGISTRY, repository: 'prod/api', digest: AMD64 });
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(3);
    expect(delays).toEqual([100, 200]);
  });

  it('gives up on persistent throttling with UPSTREAM_THROTTLED', async () => {
    ecr.on(DescribeImagesCommand).rejects(throttled());
    const error = await adapter()
      .describeImage({ registry: REGISTRY, repository: 'prod/api', digest: AMD64 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ code: 'UPSTREAM_THROTTLED' });
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(5);
  });

  it('does not retry a permanent error', async () => {
    ecr.on(DescribeImagesCommand).rejects(
      Object.assign(new Error('denied'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    await expect(
      adapter().describeImage({ registry: REGISTRY, repository: 'prod/api', digest: AMD64 }),
    ).rejects.toMatchObject({
      code: 'UPSTREAM_FAILURE',
    });
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(1);
  });

  it('refuses a registry that is not ECR', async () => {
    await expect(
      adapter().describeImage({ registry: 'ghcr.io', repository: 'a', digest: AMD64 }),
    ).rejects.toThrow('not an ECR registry');
  });
});

describe('EcrAdapter.listImages', () => {
  it('follows nextToken through every page', async () => {
    const [a, b, c] = describeImages().imageDetails ?? [];
    ecr
      .on(DescribeImagesCommand, { nextToken: undefined })
      .resolves({ imageDetails: a && b ? [a, b] : [], nextToken: 't1' })
      .on(DescribeImagesCommand, { nextToken: 't1' })
      .resolves({ imageDetails: c ? [c] : [] });
    const pages = [];
    for await (const page of adapter().listImages(REGISTRY, 'prod/api'))
      pages.push(page.map((f) => f.key.digest));
    expect(pages.map((p) => p.length)).toEqual([2, 1]);
  });
});

describe('EcrAdapter.getFindings', () => {
  it('merges paginated basic findings, 1,000 per page', async () => {
    const page: DescribeImageScanFindingsResponse = sdkShape(
      loadFixture('ecr/describe-image-scan-findings-basic'),
    );
    ecr
      .on(DescribeImageScanFindingsCommand, { nextToken: undefined })
      .resolves({ ...page, nextToken: 'p2' })
      .on(DescribeImageScanFindingsCommand, { nextToken: 'p2' })
      .resolves(page);
    const scan = await adapter().getFindings({
      registry: REGISTRY,
      repository: 'prod/api',
      digest: AMD64,
    });
    expect(scan.findings).toHaveLength(12);
    expect(scan.state).toBe('complete');
    expect(
      ecr.commandCalls(DescribeImageScanFindingsCommand).map((c) => c.args[0].input.maxResults),
    ).toEqual([1000, 1000]);
  });

  it('asks for enhanced findings in pages of 100', async () => {
    ecr
      .on(DescribeImageScanFindingsCommand)
      .resolves(sdkShape(loadFixture('ecr/describe-image-scan-findings-enhanced')));
    const scan = await adapter('enhanced').getFindings({
      registry: REGISTRY,
      repository: 'prod/api',
      digest: AMD64,
    });
    expect(scan.scanner).toBe('inspector');
    expect(ecr.commandCalls(DescribeImageScanFindingsCommand)[0]?.args[0].input.maxResults).toBe(
      100,
    );
  });

  it('reports an image never scanned as unscanned', async () => {
    ecr
      .on(DescribeImageScanFindingsCommand)
      .rejects(new ScanNotFoundException({ message: 'no scan', $metadata: {} }));
    const scan = await adapter().getFindings({
      registry: REGISTRY,
      repository: 'prod/api',
      digest: AMD64,
    });
    expect(scan).toMatchObject({ state: 'unscanned', status: 'FAILED' });
  });

  it('reports a scan in progress', async () => {
    ecr
      .on(DescribeImageScanFindingsCommand)
      .resolves({ imageScanStatus: { status: 'IN_PROGRESS' } });
    const scan = await adapter().getFindings({
      registry: REGISTRY,
      repository: 'prod/api',
      digest: AMD64,
    });
    expect(scan.state).toBe('in-progress');
  });
});
