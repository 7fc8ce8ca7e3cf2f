import { recommendedLabels } from '../labels';
import type { CheckedOptions } from './options';

/** metadata of a generated policy: the recommended labels and Kyverno's policy annotations. */
export function policyMetadata(options: CheckedOptions, minVersion: string) {
  return {
    name: options.name,
    labels: recommendedLabels({
      name: 'registry-watcher-kyverno-policy',
      instance: options.name,
      component: 'admission-policy',
      managedBy: 'registry-watcher',
    }),
    annotations: {
      'policies.kyverno.io/title': 'registry-watcher verdict attestations',
      'policies.kyverno.io/category': 'Software Supply Chain Security',
      'policies.kyverno.io/severity': 'high',
      'policies.kyverno.io/subject': 'Pod',
      'policies.kyverno.io/minversion': minVersion,
      'policies.kyverno.io/description':
        'Admits images only when registry-watcher signed a fresh verdict attestation with an admitting verdict.',
    },
  };
}
