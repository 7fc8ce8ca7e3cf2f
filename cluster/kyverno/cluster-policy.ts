import { VULN_PREDICATE_TYPE } from '../../shared/domain/attestation';
import { policyMetadata } from './metadata';
import type { CheckedOptions } from './options';

/** Stands in for an absent `expiresAt`. */
const NO_EXPIRY = '9999-12-31T23:59:59Z';

/**
 * The Pod's images as Kyverno reads them by default (pkg/utils/api/image.go at v1.19.0,
 * BuildStandardExtractors), plus image volumes. A kind listed here replaces the defaults
 * (lookupImageExtractor), so the three container lists are spelled out again. mutateDigest
 * pins image volumes too: it patches each image's JSON pointer.
 */
const POD_IMAGES = [
  ...['initContainers', 'containers', 'ephemeralContainers'].map((list) => ({
    name: list,
    path: `/spec/${list}/*`,
    value: 'image',
    key: 'name',
  })),
  { name: 'imageVolumes', path: '/spec/volumes/*/image', value: 'reference' },
];

/**
 * A `kyverno.io/v1` ClusterPolicy (Kyverno 1.13 to 1.16; deprecated from 1.17) that enforces
 * what the webhook enforces, from the signed verdict attestations instead of the allowlist:
 * the attestation must verify with our key (offline: no Rekor, no CT log, as our KMS
 * signatures are not logged), carry an admitting verdict (`scanner.result.verdict`), be fresh
 * (`scanner.result.evaluatedAt`; the scan time can be weeks old under continuous scanning) and
 * not past `scanner.result.expiresAt`. In enforce mode `mutateDigest` pins tags to the digest
 * that was verified.
 */
export function clusterPolicy(options: CheckedOptions): Record<string, unknown> {
  // Kyverno ≥ 1.11 rejects mutateDigest with Audit (api/kyverno/v1/image_verification_types.go,
  // ImageVerification.Validate): an audit-only policy must not rewrite what it only reports on.
  const { audit } = options;
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: policyMetadata(options, '1.13.0'),
    spec: {
      background: false,
      // Audit never blocks, not even when Kyverno is unreachable.
      webhookConfiguration: { failurePolicy: audit ? 'Ignore' : 'Fail', timeoutSeconds: 15 },
      rules: [
        {
          name: 'verdict-attestation',
          match: { any: [{ resources: { kinds: ['Pod'] } }] },
          imageExtractors: { Pod: POD_IMAGES },
          verifyImages: [
            {
              imageReferences: options.imageGlobs,
              failureAction: audit ? 'Audit' : 'Enforce',
              type: 'Cosign',
              mutateDigest: !audit,
              verifyDigest: true,
              required: true,
              attestations: [
                {
                  type: VULN_PREDICATE_TYPE,
                  attestors: [
                    {
                      count: 1,
                      entries: [
                        {
                          keys: {
                            publicKeys: options.publicKeyPem,
                            signatureAlgorithm: 'sha256',
                            rekor: { ignoreTlog: true },
                            ctlog: { ignoreSCT: true },
                          },
                        },
                      ],
                    },
                  ],
                  conditions: [
                    {
                      all: [
                        {
                          key: '{{ scanner.result.verdict }}',
                          operator: 'AnyIn',
                          value: options.verdicts,
                        },
                        {
                          key: "{{ time_since('', '{{ scanner.result.evaluatedAt }}', '') }}",
                          operator: 'DurationLessThanOrEquals',
                          value: options.maxAge,
                        },
                        {
                          key: `{{ time_before('{{ time_now_utc() }}', '{{ scanner.result.expiresAt || '${NO_EXPIRY}' }}') }}`,
                          operator: 'Equals',
                          value: true,
                        },
                      ],
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    },
  };
}
