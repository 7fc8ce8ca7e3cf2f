import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { loadFixture } from '../../events';
import { blockingFactsOf } from '../../shared/domain/blocking-facts';

/**
 * The two CURRENT images behind events/sns/verdict-escalated.json: the FAIL verdict of the
 * transition fixture (blocked by CVE-2024-6119), then the nightly re-evaluation that found
 * CVE-2024-37371 (CRITICAL) as well; the verdict stays FAIL, so no transition.
 */
export function itemsOfEscalationSample() {
  const record = loadFixture('dynamodb/stream-verdict-transition').Records[0];
  const image = unmarshall(
    (record?.dynamodb?.NewImage ?? {}) as Record<string, AttributeValue>,
  ) as Record<string, unknown>;
  const before = {
    ...image,
    blocking: blockingFactsOf([{ id: 'CVE-2024-6119', severity: 'HIGH', blocking: true }]),
  };
  const after = {
    ...image,
    version: Number(image.version) + 1,
    evaluatedAt: '2026-11-24T02:14:07.118Z',
    blocking: blockingFactsOf([
      { id: 'CVE-2024-37371', severity: 'CRITICAL', blocking: true },
      { id: 'CVE-2024-6119', severity: 'HIGH', blocking: true },
    ]),
  };
  return { before, after };
}
