/**
 * Kyverno's own checks on an image-verification policy, beyond its CRD schema, ported from the
 * Go source at v1.19.0 (ee97ce09538b09b6f1b03853cc41a62654d6a58f) so a test can hold our
 * generated policies against them. Each rule names the file and lines it ports; the test of a
 * rule also feeds it a policy that breaks it, so the port is seen to fail.
 */

// biome-ignore lint/suspicious/noExplicitAny: policies are read as Kyverno reads untyped JSON
type Json = any;

export interface KyvernoRule {
  id: string;
  /** file:lines in kyverno/kyverno at v1.19.0 */
  source: string;
  /** What Kyverno says (the message it returns), or the documented constraint. */
  says: string;
  /** Errors (or, for `warning` rules, warnings) this policy would get. */
  check(policy: Json): string[];
  warning?: boolean;
}

const list = (v: Json): Json[] => (Array.isArray(v) ? v : []);
const verifyImagesOf = (policy: Json): Json[] =>
  list(policy?.spec?.rules).flatMap((rule: Json) => list(rule?.verifyImages));

/** `+kubebuilder:default=true` on mutateDigest, applied by the API server before Kyverno sees it. */
const mutateDigestOf = (iv: Json): boolean => iv.mutateDigest ?? true;

export const CLUSTER_POLICY_RULES: KyvernoRule[] = [
  {
    id: 'mutateDigest-audit',
    source:
      'api/kyverno/v1/image_verification_types.go:389-391 (default true: :109-113); the action per entry: pkg/validation/policy/validate.go:367-383',
    says: 'mutateDigest must be set to false for ‘Audit’ failure action',
    check: (policy) => {
      const specAudit = /^audit$/i.test(policy?.spec?.validationFailureAction ?? '');
      return verifyImagesOf(policy).flatMap((iv, i) => {
        const action = iv.failureAction;
        const audit = action === undefined ? specAudit : /^audit$/i.test(action);
        return audit && mutateDigestOf(iv)
          ? [`verifyImages[${i}].mutateDigest: must be set to false for ‘Audit’ failure action`]
          : [];
      });
    },
  },
  {
    id: 'imageReferences-required',
    source: 'api/kyverno/v1/image_verification_types.go:393-395',
    says: 'An image reference is required',
    check: (policy) =>
      verifyImagesOf(policy).flatMap((iv, i) =>
        list(iv.imageReferences).length === 0 && !iv.image
          ? [`verifyImages[${i}]: An image reference is required`]
          : [],
      ),
  },
  {
    id: 'attestor-set',
    source: 'api/kyverno/v1/image_verification_types.go:442-451',
    says: 'Count cannot exceed length of entries; An entry is required',
    check: (policy) =>
      attestorSetsOf(policy).flatMap(({ path, set }) => {
        const entries = list(set.entries);
        return [
          ...(set.count !== undefined && set.count > entries.length
            ? [`${path}: Count cannot exceed length of entries`]
            : []),
          ...(entries.length === 0 ? [`${path}: An entry is required`] : []),
        ];
      }),
  },
  {
    id: 'attestor-one-kind',
    source: 'api/kyverno/v1/image_verification_types.go:463-469',
    says: 'keys, certificates, keyless, or a nested attestor is required (exactly one)',
    check: (policy) =>
      attestorEntriesOf(policy).flatMap(({ path, entry }) => {
        const kinds = ['keys', 'certificates', 'keyless', 'attestor'].filter(
          (k) => entry[k] !== undefined && entry[k] !== null,
        );
        return kinds.length === 1
          ? []
          : [`${path}: keys, certificates, keyless, or a nested attestor is required`];
      }),
  },
  {
    id: 'static-key',
    source:
      'api/kyverno/v1/image_verification_types.go:513-521 (algorithms: signatureAlgorithmMap, :32-38)',
    says: 'A public key, kms key or secret is required; Invalid signature algorithm provided',
    check: (policy) =>
      attestorEntriesOf(policy).flatMap(({ path, entry }) => {
        const keys = entry.keys;
        if (!keys) return [];
        const errors: string[] = [];
        if (!keys.publicKeys && !keys.kms && !keys.secret) {
          errors.push(`${path}.keys: A public key, kms key or secret is required`);
        }
        if (
          keys.publicKeys &&
          !['', 'sha224', 'sha256', 'sha384', 'sha512'].includes(keys.signatureAlgorithm ?? '')
        ) {
          errors.push(`${path}.keys: Invalid signature algorithm provided`);
        }
        return errors;
      }),
  },
  {
    id: 'one-operation-per-rule',
    source: 'api/kyverno/v1/rule_types.go:226-238',
    says: 'only one operation (mutate,validate,generate,verifyImages) is allowed per rule',
    check: (policy) =>
      list(policy?.spec?.rules).flatMap((rule: Json, i: number) => {
        const count = ['mutate', 'validate', 'generate', 'verifyImages'].filter(
          (k) => rule[k] !== undefined,
        ).length;
        return count === 1 ? [] : [`rules[${i}]: ${count} operations, exactly one is allowed`];
      }),
  },
  {
    id: 'unique-rule-names',
    source: 'api/kyverno/v1/spec_types.go:319-329',
    says: 'Duplicate rule name',
    check: (policy) => {
      const names = list(policy?.spec?.rules).map((r: Json) => r.name);
      return names.filter((n, i) => names.indexOf(n) !== i).map((n) => `Duplicate rule name: ${n}`);
    },
  },
  {
    id: 'cluster-policy-namespace',
    source: 'pkg/validation/policy/validate.go:131-134',
    says: 'A clusterpolicy should not have the namespace defined',
    check: (policy) =>
      policy?.kind === 'ClusterPolicy' && policy?.metadata?.namespace
        ? ['A clusterpolicy should not have the namespace defined']
        : [],
  },
  {
    id: 'verifyImages-needs-admission',
    source: 'pkg/validation/policy/validate.go:236-243',
    says: 'disabling admission processing is only allowed with validation policies',
    check: (policy) =>
      policy?.spec?.admission === false && verifyImagesOf(policy).length > 0
        ? ['disabling admission processing is only allowed with validation policies']
        : [],
  },
  {
    id: 'condition-operators',
    source: 'pkg/validation/policy/validate.go:1057-1063, :1182-1187, :1205-1228',
    says: 'entered value of `operator` is invalid',
    check: (policy) =>
      conditionsOf(policy).flatMap(({ path, condition }) =>
        CONDITION_OPERATORS.includes(condition.operator)
          ? []
          : [`${path}: entered value of \`operator\` is invalid`],
      ),
  },
  {
    id: 'deprecated-operators',
    source:
      'pkg/validation/policy/validate.go:1758-1787 (attestations :1778-1786); pkg/engine/variables/operator/utils.go:8-11',
    says: 'Operator In/NotIn has been deprecated and will be removed soon',
    warning: true,
    check: (policy) =>
      conditionsOf(policy).flatMap(({ path, condition }) =>
        ['In', 'NotIn'].includes(condition.operator)
          ? [`${path}: Operator ${condition.operator} has been deprecated`]
          : [],
      ),
  },
  {
    id: 'deprecated-predicateType',
    source: 'pkg/validation/policy/validate.go:1706-1715',
    says: "predicateType has been deprecated use 'type: …' instead",
    warning: true,
    check: (policy) =>
      verifyImagesOf(policy).flatMap((iv, i) =>
        list(iv.attestations)
          .filter((a: Json) => a.predicateType)
          .map(() => `verifyImages[${i}]: predicateType has been deprecated`),
      ),
  },
  {
    id: 'imageExtractors-jmesPath',
    source: 'pkg/validation/policy/validate.go:336-338, 1341-1374',
    says: 'jmespath may not be used in an image extractor when mutating digests with verify images',
    check: (policy) =>
      list(policy?.spec?.rules).flatMap((rule: Json, i: number) => {
        const mutates = list(rule?.verifyImages).some((iv: Json) => iv.mutateDigest === true);
        const extractors = Object.values(rule?.imageExtractors ?? {}).flatMap(list);
        return mutates && extractors.some((e: Json) => e.jmesPath)
          ? [
              `spec.rules[${i}]: jmespath may not be used in an image extractor when mutating digests`,
            ]
          : [];
      }),
  },
];

/** api/kyverno/v1/common_types.go:337-356, ConditionOperators. */
const CONDITION_OPERATORS = [
  'Equal',
  'Equals',
  'NotEqual',
  'NotEquals',
  'In',
  'AnyIn',
  'AllIn',
  'NotIn',
  'AnyNotIn',
  'AllNotIn',
  'GreaterThanOrEquals',
  'GreaterThan',
  'LessThanOrEquals',
  'LessThan',
  'DurationGreaterThanOrEquals',
  'DurationGreaterThan',
  'DurationLessThanOrEquals',
  'DurationLessThan',
];

function attestorSetsOf(policy: Json): { path: string; set: Json }[] {
  return verifyImagesOf(policy).flatMap((iv, i) => [
    ...list(iv.attestors).map((set, j) => ({ path: `verifyImages[${i}].attestors[${j}]`, set })),
    ...list(iv.attestations).flatMap((a: Json, k: number) =>
      list(a.attestors).map((set, j) => ({
        path: `verifyImages[${i}].attestations[${k}].attestors[${j}]`,
        set,
      })),
    ),
  ]);
}

function attestorEntriesOf(policy: Json): { path: string; entry: Json }[] {
  return attestorSetsOf(policy).flatMap(({ path, set }) =>
    list(set.entries).map((entry, e) => ({ path: `${path}.entries[${e}]`, entry })),
  );
}

function conditionsOf(policy: Json): { path: string; condition: Json }[] {
  return verifyImagesOf(policy).flatMap((iv, i) =>
    list(iv.attestations).flatMap((a: Json, k: number) =>
      list(a.conditions).flatMap((c: Json, n: number) =>
        ['any', 'all'].flatMap((which) =>
          list(c[which]).map((condition, m) => ({
            path: `verifyImages[${i}].attestations[${k}].conditions[${n}].${which}[${m}]`,
            condition,
          })),
        ),
      ),
    ),
  );
}

/** Names an ImageValidatingPolicy's CEL refers to as `attestors.X` / `attestations.X`. */
const referenced = (policy: Json, map: 'attestors' | 'attestations'): string[] =>
  list(policy?.spec?.validations).flatMap((v: Json) =>
    [...String(v.expression).matchAll(new RegExp(`\\b${map}\\.([A-Za-z_][A-Za-z0-9_]*)`, 'g'))].map(
      (m) => m[1] as string,
    ),
  );
const declared = (policy: Json, map: 'attestors' | 'attestations'): string[] =>
  list(policy?.spec?.[map]).map((a: Json) => a.name);

export const IMAGE_VALIDATING_POLICY_RULES: KyvernoRule[] = [
  {
    id: 'attestations-declared',
    source:
      'pkg/cel/libs/imageverify/impl.go:234-237 (the map: pkg/image/verification/evaluator/policy.go:175, compiler.go getAttestations)',
    says: 'attestation not found in policy: <name>',
    check: (policy) =>
      referenced(policy, 'attestations')
        .filter((n) => !declared(policy, 'attestations').includes(n))
        .map((n) => `attestation not found in policy: ${n}`),
  },
  {
    id: 'attestors-declared',
    source: 'pkg/image/verification/evaluator/policy.go:176-186 (attestors keyed by name)',
    says: 'no such key: <name>',
    check: (policy) =>
      referenced(policy, 'attestors')
        .filter((n) => !declared(policy, 'attestors').includes(n))
        .map((n) => `no such key: ${n}`),
  },
  {
    id: 'deny-not-with-warn',
    source: 'the CRD, spec.validationActions description (as for ValidatingAdmissionPolicyBinding)',
    says: '"Deny" and "Warn" may not be used together',
    check: (policy) => {
      const actions = list(policy?.spec?.validationActions);
      return actions.includes('Deny') && actions.includes('Warn')
        ? ['validationActions: "Deny" and "Warn" may not be used together']
        : [];
    },
  },
  {
    id: 'timeout-range',
    source: 'the CRD, spec.webhookConfiguration.timeoutSeconds description',
    says: 'the value must be between 1 and 30 seconds',
    check: (policy) => {
      const timeout = policy?.spec?.webhookConfiguration?.timeoutSeconds;
      return timeout === undefined || (timeout >= 1 && timeout <= 30)
        ? []
        : [`webhookConfiguration.timeoutSeconds ${timeout}: must be between 1 and 30`];
    },
  },
  {
    id: 'audit-does-not-mutate',
    source:
      'pkg/cel/policies/ivpol/engine/engine.go:238-241 (digests are pinned unless mutateDigest is false, whatever validationActions say); the ClusterPolicy rule api/kyverno/v1/image_verification_types.go:389-391',
    says: 'a policy without Deny must set validationConfigurations.mutateDigest: false',
    check: (policy) => {
      const deny = list(policy?.spec?.validationActions).includes('Deny');
      const mutate = policy?.spec?.validationConfigurations?.mutateDigest ?? true; // CRD default
      return !deny && mutate
        ? ['mutateDigest must be false when validationActions has no Deny']
        : [];
    },
  },
];
