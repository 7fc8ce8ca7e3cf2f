import { VULN_PREDICATE_TYPE } from '../../shared/domain/attestation';
import { policyMetadata } from './metadata';
import type { CheckedOptions } from './options';

/** Names the CEL expressions refer to (`attestors.watcher`, `attestations.verdict`). */
const ATTESTOR = 'watcher';
const ATTESTATION = 'verdict';

/**
 * Image volumes (`spec.volumes[].image.reference`, Kubernetes ≥ 1.31), which Kyverno's
 * built-in extractors leave out (containers, initContainers, ephemeralContainers only:
 * pkg/cel/compiler/images.go at v1.19.0); spec.images adds to them. Written for the Pod:
 * autogen rewrites `object.spec` for controllers (pkg/cel/autogen/data.go). Tags in image
 * volumes are not pinned (MutateDigest only rewrites containers), so verifyDigest denies them.
 */
const IMAGE_VOLUMES =
  'has(object.spec.volumes) ? object.spec.volumes.filter(v, has(v.image)).map(v, v.image.reference) : []';

/** Every image of every list: `images` holds only what matchImageReferences matched. */
const everyImage = (condition: string) => `images.all(c, images[c].all(image, ${condition}))`;
const result = `extractPayload(image, attestations.${ATTESTATION}).predicate.scanner.result`;

/**
 * A `policies.kyverno.io/v1` ImageValidatingPolicy (Kyverno ≥ 1.17) with the same checks as
 * the ClusterPolicy, in CEL: the verdict attestation verifies with our key (offline: the
 * transparency log and SCT checks are off, as our KMS signatures are not logged), its
 * `scanner.result.verdict` admits, `evaluatedAt` is within maxAge and `expiresAt`, when
 * present, is still ahead. Enforce denies and pins tags to the verified digest; audit
 * reports and warns, and mutates nothing.
 */
export function imageValidatingPolicy(options: CheckedOptions): Record<string, unknown> {
  const { audit } = options;
  const verdicts = `[${options.verdicts.map((v) => `'${v}'`).join(', ')}]`;
  return {
    apiVersion: 'policies.kyverno.io/v1',
    kind: 'ImageValidatingPolicy',
    metadata: policyMetadata(options, '1.17.0'),
    spec: {
      validationActions: audit ? ['Audit', 'Warn'] : ['Deny'],
      // Audit never blocks, not even when Kyverno is unreachable.
      failurePolicy: audit ? 'Ignore' : 'Fail',
      webhookConfiguration: { timeoutSeconds: 15 },
      evaluation: { background: { enabled: false } },
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['pods'],
          },
        ],
      },
      matchImageReferences: options.imageGlobs.map((glob) => ({ glob })),
      images: [{ name: 'imageVolumes', expression: IMAGE_VOLUMES }],
      // As for the ClusterPolicy: an audit-only policy must not rewrite what it reports on.
      validationConfigurations: { mutateDigest: !audit, verifyDigest: true, required: true },
      attestors: [
        {
          name: ATTESTOR,
          cosign: {
            key: { data: options.publicKeyPem, hashAlgorithm: 'sha256' },
            ctlog: { insecureIgnoreTlog: true, insecureIgnoreSCT: true },
          },
        },
      ],
      attestations: [{ name: ATTESTATION, intoto: { type: VULN_PREDICATE_TYPE } }],
      validations: [
        {
          expression: everyImage(
            `verifyAttestationSignatures(image, attestations.${ATTESTATION}, [attestors.${ATTESTOR}]) > 0`,
          ),
          message: 'no verdict attestation signed with the registry-watcher key',
        },
        {
          expression: everyImage(`${result}.verdict in ${verdicts}`),
          message: `the registry-watcher verdict is not one of ${options.verdicts.join(', ')}`,
        },
        {
          expression: everyImage(
            `time.now() - timestamp(${result}.evaluatedAt) <= duration('${options.maxAge}')`,
          ),
          message: `the registry-watcher verdict is older than ${options.maxAge}`,
        },
        {
          expression: everyImage(
            `!has(${result}.expiresAt) || time.now() < timestamp(${result}.expiresAt)`,
          ),
          message: 'the registry-watcher verdict has expired',
        },
      ],
    },
  };
}
