import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kyvernoClusterPolicy, kyvernoPolicy } from '../../cluster/kyverno/policy';
import {
  CLUSTER_POLICY_RULES,
  IMAGE_VALIDATING_POLICY_RULES,
  type KyvernoRule,
} from '../support/kyverno-rules';

const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

// biome-ignore lint/suspicious/noExplicitAny: generated policies are edited as plain JSON here
type Json = any;
const clusterPolicy = (failureAction: 'Enforce' | 'Audit'): Json =>
  kyvernoClusterPolicy({ publicKeyPem: PEM, repositories: [`${ECR}/prod/*`], failureAction });
const copy = (value: Json): Json => structuredClone(value);
const rule = (id: string): KyvernoRule => {
  const found = CLUSTER_POLICY_RULES.find((r) => r.id === id);
  if (!found) throw new Error(`no rule ${id}`);
  return found;
};
const firstVerify = (policy: Json): Json => policy.spec.rules[0].verifyImages[0];
const firstEntry = (policy: Json): Json =>
  firstVerify(policy).attestations[0].attestors[0].entries[0];

/** For each Kyverno rule: a policy that breaks it, so the port is seen to reject something. */
const BREAKERS: Record<string, (p: Json) => void> = {
  'mutateDigest-audit': (p) => {
    firstVerify(p).failureAction = 'Audit';
    delete firstVerify(p).mutateDigest; // the CRD default (true) applies
  },
  'imageReferences-required': (p) => {
    firstVerify(p).imageReferences = [];
  },
  'attestor-set': (p) => {
    firstVerify(p).attestations[0].attestors[0].count = 2;
  },
  'attestor-one-kind': (p) => {
    firstEntry(p).keyless = { roots: 'x' };
  },
  'static-key': (p) => {
    firstEntry(p).keys.signatureAlgorithm = 'md5';
  },
  'one-operation-per-rule': (p) => {
    p.spec.rules[0].validate = { message: 'x' };
  },
  'unique-rule-names': (p) => {
    p.spec.rules.push(copy(p.spec.rules[0]));
  },
  'cluster-policy-namespace': (p) => {
    p.metadata.namespace = 'default';
  },
  'verifyImages-needs-admission': (p) => {
    p.spec.admission = false;
  },
  'condition-operators': (p) => {
    firstVerify(p).attestations[0].conditions[0].all[0].operator = 'Contains';
  },
  'deprecated-operators': (p) => {
    firstVerify(p).attestations[0].conditions[0].all[0].operator = 'In';
  },
  'imageExtractors-jmesPath': (p) => {
    p.spec.rules[0].imageExtractors.Pod[3].jmesPath = "trim_prefix(@, 'docker://')";
  },
  'deprecated-predicateType': (p) => {
    firstVerify(p).attestations[0].predicateType = firstVerify(p).attestations[0].type;
  },
};

describe('kyverno.io/v1 ClusterPolicy against Kyverno v1.19.0 policy validation', () => {
  it('every ported rule has a breaking case', () => {
    expect(Object.keys(BREAKERS).sort()).toEqual(CLUSTER_POLICY_RULES.map((r) => r.id).sort());
  });

  describe.each(CLUSTER_POLICY_RULES.map((r) => [r.id, r.source, r] as const))(
    '%s (%s)',
    (id, _source, kyvernoRule) => {
      it.each(['Enforce', 'Audit'] as const)('the %s policy passes', (mode) => {
        expect(kyvernoRule.check(clusterPolicy(mode))).toEqual([]);
      });

      it('a policy that breaks it is reported', () => {
        const broken = copy(clusterPolicy('Enforce'));
        BREAKERS[id]?.(broken);
        expect(kyvernoRule.check(broken)).not.toEqual([]);
      });
    },
  );

  it('Audit: mutateDigest false (Kyverno ≥ 1.11 rejects true), webhook failurePolicy Ignore', () => {
    const audit = clusterPolicy('Audit');
    expect(firstVerify(audit)).toMatchObject({ failureAction: 'Audit', mutateDigest: false });
    expect(audit.spec.webhookConfiguration.failurePolicy).toBe('Ignore');
    expect(rule('mutateDigest-audit').check(audit)).toEqual([]);
    firstVerify(audit).mutateDigest = true;
    expect(rule('mutateDigest-audit').check(audit)).toEqual([
      'verifyImages[0].mutateDigest: must be set to false for ‘Audit’ failure action',
    ]);
  });

  it('Enforce: mutateDigest pins tags, webhook failurePolicy Fail', () => {
    const enforce = clusterPolicy('Enforce');
    expect(firstVerify(enforce)).toMatchObject({ failureAction: 'Enforce', mutateDigest: true });
    expect(enforce.spec.webhookConfiguration.failurePolicy).toBe('Fail');
  });
});

const imageValidatingPolicy = (failureAction: 'Enforce' | 'Audit'): Json =>
  kyvernoPolicy({ publicKeyPem: PEM, repositories: [`${ECR}/prod/*`], failureAction });

const IVPOL_BREAKERS: Record<string, (p: Json) => void> = {
  'attestations-declared': (p) => {
    p.spec.attestations[0].name = 'vuln';
  },
  'attestors-declared': (p) => {
    p.spec.attestors[0].name = 'kms';
  },
  'deny-not-with-warn': (p) => {
    p.spec.validationActions = ['Deny', 'Warn'];
  },
  'timeout-range': (p) => {
    p.spec.webhookConfiguration.timeoutSeconds = 31;
  },
  'audit-does-not-mutate': (p) => {
    p.spec.validationActions = ['Audit'];
    delete p.spec.validationConfigurations.mutateDigest; // the CRD default (true) applies
  },
};

describe('policies.kyverno.io/v1 ImageValidatingPolicy against Kyverno v1.19.0', () => {
  it('every rule has a breaking case', () => {
    expect(Object.keys(IVPOL_BREAKERS).sort()).toEqual(
      IMAGE_VALIDATING_POLICY_RULES.map((r) => r.id).sort(),
    );
  });

  describe.each(IMAGE_VALIDATING_POLICY_RULES.map((r) => [r.id, r.source, r] as const))(
    '%s (%s)',
    (id, _source, kyvernoRule) => {
      it.each(['Enforce', 'Audit'] as const)('the %s policy passes', (mode) => {
        expect(kyvernoRule.check(imageValidatingPolicy(mode))).toEqual([]);
      });

      it('a policy that breaks it is reported', () => {
        const broken = copy(imageValidatingPolicy('Enforce'));
        IVPOL_BREAKERS[id]?.(broken);
        expect(kyvernoRule.check(broken)).not.toEqual([]);
      });
    },
  );

  it('Enforce denies and pins digests; Audit reports and warns, pins nothing, never blocks', () => {
    expect(imageValidatingPolicy('Enforce').spec).toMatchObject({
      validationActions: ['Deny'],
      failurePolicy: 'Fail',
      validationConfigurations: { mutateDigest: true, verifyDigest: true, required: true },
    });
    expect(imageValidatingPolicy('Audit').spec).toMatchObject({
      validationActions: ['Audit', 'Warn'],
      failurePolicy: 'Ignore',
      validationConfigurations: { mutateDigest: false, verifyDigest: true, required: true },
    });
  });

  it('rejects verdicts it does not know (they are written into CEL)', () => {
    expect(() =>
      kyvernoPolicy({
        publicKeyPem: PEM,
        repositories: [`${ECR}/x`],
        verdicts: ["PASS'] || true"],
      }),
    ).toThrow(/--verdicts: use some of PASS, WARN, FAIL, PENDING, ERROR/);
  });
});

/**
 * Kyverno v1.19.0's image extraction for a verifyImages rule (pkg/utils/api/image.go:
 * lookupImageExtractor, extract): a kind listed in imageExtractors replaces the built-in
 * extractors; a path is split on `/`, `*` walks every item, a missing field yields nothing,
 * the image is `value` (default: the last segment) at the pointer it was found.
 */
function kyvernoExtract(rule: Json, object: Json): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const config of rule.imageExtractors?.Pod ?? []) {
    let fields = config.path.split('/').filter((f: string) => f.trim() !== '');
    let value = config.value;
    if (!value) {
      value = fields.at(-1);
      fields = fields.slice(0, -1);
    }
    const found: Record<string, string> = {};
    const walk = (node: Json, path: string[], rest: string[]): void => {
      if (node === undefined || node === null) return;
      if (rest[0] === '*') {
        for (const [k, v] of Object.entries(node)) walk(v, [...path, k], rest.slice(1));
        return;
      }
      if (rest.length === 0) {
        const image = node[value];
        if (typeof image !== 'string' || image.trim() === '') return;
        const pointer = `/${[...path, value].join('/')}`;
        found[config.key ? node[config.key] : pointer] = `${pointer} ${image}`;
        return;
      }
      walk(node[rest[0] as string], [...path, rest[0] as string], rest.slice(1));
    };
    walk(object, [], fields);
    if (Object.keys(found).length > 0) out[config.name ?? 'custom'] = found;
  }
  return out;
}

describe('ClusterPolicy imageExtractors, walked as Kyverno walks them', () => {
  const pod = JSON.parse(
    readFileSync(join(__dirname, '../../events/k8s/admission-review-pod.json'), 'utf8'),
  ).request.object;

  it('finds every image of the fixture Pod, the image volume at its own pointer', () => {
    const found = kyvernoExtract(clusterPolicy('Enforce').spec.rules[0], pod);
    const volume = pod.spec.volumes.findIndex((v: Json) => v.image);
    expect(found).toEqual({
      containers: { api: `/spec/containers/0/image ${pod.spec.containers[0].image}` },
      initContainers: {
        migrate: `/spec/initContainers/0/image ${pod.spec.initContainers[0].image}`,
      },
      imageVolumes: {
        [`/spec/volumes/${volume}/image/reference`]: `/spec/volumes/${volume}/image/reference ${pod.spec.volumes[volume].image.reference}`,
      },
    });
  });

  it('the built-in lists stay: a custom Pod entry replaces them, so all three are listed', () => {
    const names = clusterPolicy('Audit').spec.rules[0].imageExtractors.Pod.map((e: Json) => e.name);
    expect(names).toEqual(['initContainers', 'containers', 'ephemeralContainers', 'imageVolumes']);
  });

  it('every image found falls under the policy’s imageReferences', () => {
    const policy = clusterPolicy('Enforce');
    const globs = firstVerify(policy).imageReferences.map(
      (g: string) => new RegExp(`^${g.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`),
    );
    const images = Object.values(kyvernoExtract(policy.spec.rules[0], pod)).flatMap((m) =>
      Object.values(m).map((v) => v.split(' ')[1] as string),
    );
    expect(images).toHaveLength(3);
    for (const image of images) expect(globs.some((g: RegExp) => g.test(image))).toBe(true);
  });
});
