import { stringify } from 'yaml';
import { clusterPolicy } from './cluster-policy';
import { imageValidatingPolicy } from './image-validating-policy';
import { checkOptions, type KyvernoPolicyOptions } from './options';

export { KYVERNO_KINDS, type KyvernoKind, type KyvernoPolicyOptions } from './options';

/**
 * The Kyverno policy that enforces the verdict attestations: an ImageValidatingPolicy by
 * default, or a ClusterPolicy for Kyverno before 1.17 (`kind: 'ClusterPolicy'`).
 */
export function kyvernoPolicy(options: KyvernoPolicyOptions): Record<string, unknown> {
  const checked = checkOptions(options);
  return options.kind === 'ClusterPolicy' ? clusterPolicy(checked) : imageValidatingPolicy(checked);
}

/** The ClusterPolicy form, whatever `kind` says. */
export function kyvernoClusterPolicy(options: KyvernoPolicyOptions): Record<string, unknown> {
  return clusterPolicy(checkOptions(options));
}

export function kyvernoPolicyYaml(options: KyvernoPolicyOptions): string {
  return stringify(kyvernoPolicy(options), { lineWidth: 0 });
}
