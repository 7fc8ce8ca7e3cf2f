import type { ImageDetail } from '@aws-sdk/client-ecr';
import { loadFixture } from '../../events';
import { factsOf, platformManifests } from '../../shared/adapters/aws/ecr';
import { normaliseScanFindings } from '../../shared/adapters/aws/ecr-findings';
import { parseTimestamp } from '../../shared/adapters/aws/timestamps';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { ecrRegistry, type ImageKey } from '../../shared/domain/image-ref';

export const SAMPLE_REGISTRY = ecrRegistry('123456789012', 'eu-west-1');

/**
 * The instant the sample world was recorded at: the morning after its last scan (2026-11-22)
 * and last pull. `npm start` judges the world at this instant by default, so its verdicts
 * are the same on any date (scan age, grace deadlines and exception expiries do not move).
 */
export const SAMPLE_NOW = new Date('2026-11-23T09:00:00.000Z');

/** The team-a/web image that the sample DELETE event removes. */
export const DELETED_IMAGE: ImageKey = {
  registry: SAMPLE_REGISTRY,
  repository: 'team-a/web',
  digest: loadFixture('eventbridge/ecr-image-action-delete').detail['image-digest'],
};

/** The multi-arch prod/api:1.4.2 index the sample push event names. */
export const INDEX_DIGEST = loadFixture('eventbridge/ecr-image-action-push').detail['image-digest'];

/** prod/api:1.3.0, judged FAIL: Inspector later finds one more CRITICAL in it (an escalation). */
export const ESCALATED_IMAGE: ImageKey = {
  registry: SAMPLE_REGISTRY,
  repository: 'prod/api',
  digest: 'sha256:e4a778575203f69801e65a6a8a89272363c4cde31aa0521d86b97f2ae76afd6d',
};

/**
 * What Inspector's continuous scan of prod/api:1.3.0 says after its database learnt
 * CVE-2024-45491 (events/README.md): the same findings and one new CRITICAL.
 */
export function laterScanOfEscalatedImage() {
  return normaliseScanFindings(loadFixture('ecr/describe-image-scan-findings-enhanced-later'));
}

/** A clean team-a/web release no event announces: the nightly reconcile finds it and admits it. */
export const CLEAN_IMAGE: ImageKey = {
  registry: SAMPLE_REGISTRY,
  repository: 'team-a/web',
  digest: 'sha256:2b1c0e7a8d4f63a95b0c7e1f4d2a9b8c6e5f3a1d0b9c8e7f6a5b4c3d2e1f0a9b',
};

/**
 * The world the sample events describe (events/README.md): the multi-arch prod/api:1.4.2
 * (amd64 scanned by basic scanning, arm64 clean), prod/api:1.3.0 scanned by Inspector, and
 * a clean team-a/web image that a DELETE event later removes, and a clean team-a/web:2.1.0.
 */
export function sampleWorld(): MemoryRegistry {
  const world = new MemoryRegistry();
  const basic = normaliseScanFindings(loadFixture('ecr/describe-image-scan-findings-basic'));
  const enhanced = normaliseScanFindings(loadFixture('ecr/describe-image-scan-findings-enhanced'));
  const clean = { ...basic, findings: [] };
  const index = loadFixture('ecr/batch-get-image-index').images?.[0]?.imageManifest ?? '{}';
  const platforms = platformManifests(index);
  const scannedByBasic = loadFixture('eventbridge/ecr-image-scan-complete').detail['image-digest'];

  for (const wire of loadFixture('ecr/describe-images').imageDetails ?? []) {
    const detail = {
      ...wire,
      imagePushedAt: parseTimestamp(wire.imagePushedAt),
      lastRecordedPullTime: parseTimestamp(wire.lastRecordedPullTime),
    } as ImageDetail;
    const facts = factsOf(SAMPLE_REGISTRY, detail);
    if (facts.mediaType?.includes('index')) {
      world.put({ ...facts, platforms });
    } else {
      world.put(facts, facts.key.digest === scannedByBasic ? basic : enhanced);
    }
  }
  for (const platform of platforms) {
    if (platform.platform !== 'linux/amd64') {
      world.putScan(
        { registry: SAMPLE_REGISTRY, repository: 'prod/api', digest: platform.digest },
        clean,
      );
    }
  }
  world.put(
    {
      key: DELETED_IMAGE,
      tags: ['2.0.0'],
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
    },
    clean,
  );
  world.put(
    { key: CLEAN_IMAGE, tags: ['2.1.0'], mediaType: 'application/vnd.oci.image.manifest.v1+json' },
    clean,
  );
  return world;
}
