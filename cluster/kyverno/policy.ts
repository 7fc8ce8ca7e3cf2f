import { createPublicKey } from 'node:crypto';
import { stringify } from 'yaml';
import { VULN_PREDICATE_TYPE } from '../../shared/domain/attestation';
import { isDuration } from '../../shared/domain/duration';
import { ConfigError } from '../../shared/domain/errors';
import { canonicalRegistry } from '../../shared/domain/image-ref';

/** Stands in for an absent `expiresAt`. */
const NO_EXPIRY = '9999-12-31T23:59:59Z';

export interface KyvernoPolicyOptions {
  /** PEM public key of the attestation key (stack output AttestationPublicKeyCommand), never the allowlist key. */
  publicKeyPem: string;
  /** Image reference globs, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/*`. */
  repositories: string[];
  name?: string;
  /** Verdicts that admit (default PASS and WARN, as the allowlist does). */
  verdicts?: string[];
  /** Oldest evaluation accepted; the watcher re-attests daily, so 48h tolerates one miss. */
  maxAge?: string;
  failureAction?: 'Enforce' | 'Audit';
}

/**
 * A Kyverno (≥ 1.13) ClusterPolicy that enforces what the webhook enforces, from the signed
 * verdict attestations instead of the allowlist: the attestation must verify with our key
 * (offline: no Rekor, no CT log, as our KMS signatures are not logged), carry an admitting
 * verdict (`scanner.result.verdict`), be fresh (`scanner.result.evaluatedAt`; the scan time
 * can be weeks old under continuous scanning) and not past `scanner.result.expiresAt`.
 * `mutateDigest` pins tags to the digest that was verified.
 */
export function kyvernoClusterPolicy(options: KyvernoPolicyOptions): Record<string, unknown> {
  const publicKeys = checkedKey(options.publicKeyPem);
  if (options.repositories.length === 0) {
    throw new ConfigError('name at least one repository glob (--repositories)');
  }
  const maxAge = options.maxAge ?? '48h';
  if (!isDuration(maxAge) || maxAge.endsWith('d')) {
    throw new ConfigError(
      `--max-age ${maxAge}: use hours, minutes or seconds (e.g. 48h): Kyverno durations have no days`,
    );
  }
  const failureAction = options.failureAction ?? 'Enforce';
  // Kyverno ≥ 1.11 rejects mutateDigest with Audit (api/kyverno/v1/image_verification_types.go,
  // ImageVerification.Validate): an audit-only policy must not rewrite what it only reports on.
  const audit = failureAction === 'Audit';
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: {
      name: options.name ?? 'registry-watcher-verdicts',
      annotations: {
        'policies.kyverno.io/title': 'registry-watcher verdict attestations',
        'policies.kyverno.io/subject': 'Pod',
        'policies.kyverno.io/minversion': '1.13.0',
        'policies.kyverno.io/description':
          'Admits images only when registry-watcher signed a fresh verdict attestation with an admitting verdict.',
      },
    },
    spec: {
      background: false,
      // Audit never blocks, not even when Kyverno is unreachable.
      webhookConfiguration: { failurePolicy: audit ? 'Ignore' : 'Fail', timeoutSeconds: 15 },
      rules: [
        {
          name: 'verdict-attestation',
          match: { any: [{ resources: { kinds: ['Pod'] } }] },
          verifyImages: [
            {
              imageReferences: options.repositories.map(canonicalGlob),
              failureAction,
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
                            publicKeys,
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
                          value: options.verdicts ?? ['PASS', 'WARN'],
                        },
                        {
                          key: "{{ time_since('', '{{ scanner.result.evaluatedAt }}', '') }}",
                          operator: 'DurationLessThanOrEquals',
                          value: maxAge,
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

export function kyvernoPolicyYaml(options: KyvernoPolicyOptions): string {
  return stringify(kyvernoClusterPolicy(options), { lineWidth: 0 });
}

function checkedKey(pem: string): string {
  try {
    createPublicKey(pem);
  } catch {
    throw new ConfigError(
      '--key is not a PEM public key: use the attestation public key (the stack output AttestationPublicKeyCommand writes it)',
    );
  }
  return pem.trim();
}

/** Lower-cases the registry host and drops `:443`, as the webhook does before lookups. */
function canonicalGlob(glob: string): string {
  const slash = glob.indexOf('/');
  const host = slash > 0 ? glob.slice(0, slash) : '';
  if (!host.includes('.') && !host.includes(':') && host !== 'localhost') {
    throw new ConfigError(
      `repository glob "${glob}" must start with a registry host (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/*)`,
    );
  }
  return `${canonicalRegistry(host)}${glob.slice(slash)}`;
}
