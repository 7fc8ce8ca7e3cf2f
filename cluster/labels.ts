import { version } from '../package.json';

/**
 * The six recommended `app.kubernetes.io/*` labels
 * (kubernetes.io/docs/concepts/overview/working-with-objects/common-labels), as every manifest
 * this project prints carries them (the kustomize base spells them out per file).
 */
export const PART_OF = 'registry-watcher';
export const RELEASE: string = version;

export interface LabelValues {
  name: string;
  instance: string;
  component: string;
  managedBy: string;
}

export function recommendedLabels(values: LabelValues): Record<string, string> {
  return {
    'app.kubernetes.io/name': values.name,
    'app.kubernetes.io/instance': values.instance,
    'app.kubernetes.io/version': RELEASE,
    'app.kubernetes.io/component': values.component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': values.managedBy,
  };
}
