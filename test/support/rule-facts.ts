import type { Finding } from '../../shared/domain/findings';
import { exceptionsById } from '../../shared/domain/rules/exceptions';
import type { FindingFacts, ManifestFacts } from '../../shared/domain/rules/facts';
import { completeScan, keyOf, policyOf } from './builders';

export const RULE_NOW = new Date('2026-11-23T12:00:00.000Z');

/** A manifest's facts under a policy body (its defaults apply), as evaluate() builds them. */
export function manifestFacts(body = '', extra: Partial<ManifestFacts> = {}): ManifestFacts {
  const policy = policyOf(body);
  return {
    image: keyOf('prod/api'),
    settings: policy.defaults,
    exceptions: exceptionsById(policy),
    previousAdmitted: false,
    previousClock: new Map(),
    manifests: 1,
    scan: completeScan([]),
    now: RULE_NOW,
    ...extra,
  };
}

export function findingFacts(finding: Finding, extra: Partial<FindingFacts> = {}): FindingFacts {
  return { finding, exploited: false, blockedBy: [], lapsed: false, ...extra };
}
