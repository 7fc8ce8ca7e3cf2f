import type { Finding, ScanFindings } from '../../shared/domain/findings';
import type { ImageKey } from '../../shared/domain/image-ref';
import type { Policy } from '../../shared/domain/policy';
import { parsePolicy } from '../../shared/domain/policy-yaml';
import { emptySeverityCounts } from '../../shared/domain/severity';
import type { VerdictDraft } from '../../shared/domain/verdict-record';

export const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

/** A deterministic digest for test image number `n`. */
export function digestOf(n: number | string): string {
  return `sha256:${String(n)
    .padStart(64, '0')
    .replace(/[^0-9a-f]/g, 'f')
    .slice(-64)}`;
}

export function keyOf(repository: string, n: number | string = 1): ImageKey {
  return { registry: REGISTRY, repository, digest: digestOf(n) };
}

export function finding(
  id: string,
  severity: Finding['severity'],
  extra: Partial<Finding> = {},
): Finding {
  return { id, severity, ...extra };
}

export function completeScan(
  findings: Finding[],
  completedAt = '2026-11-22T00:00:00.000Z',
): ScanFindings {
  return { state: 'complete', status: 'COMPLETE', scanner: 'ecr-basic', completedAt, findings };
}

export function scanIn(
  state: ScanFindings['state'],
  status: string,
  description?: string,
): ScanFindings {
  return { state, status, scanner: 'ecr-basic', findings: [], ...(description && { description }) };
}

/** A policy from a YAML body; apiVersion and kind are added. */
export function policyOf(body = ''): Policy {
  return parsePolicy(`apiVersion: registry-watcher/v1\nkind: Policy\n${body}`, 'test-policy.yaml');
}

/** A verdict of a completed scan with no findings, ready for `planWrite`; override any field. */
export function draftOf(
  key: ImageKey,
  fields: Partial<VerdictDraft> & Pick<VerdictDraft, 'verdict'>,
): VerdictDraft {
  return {
    ...key,
    tags: [],
    scan: { state: 'complete', status: 'COMPLETE', scanner: 'ecr-basic' },
    reasons: [],
    severityCounts: emptySeverityCounts(),
    maxSeverity: 'NONE',
    topFindings: [],
    findingClock: {},
    policyHash: 'sha256:p',
    evaluatedAt: '2026-11-22T00:00:00.000Z',
    ...fields,
  };
}
