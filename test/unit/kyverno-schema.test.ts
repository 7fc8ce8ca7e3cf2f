/**
 * The generated Kyverno policies against Kyverno's own CRD schemas (events/kyverno/README.md
 * names their source, tag and commit), checked as the API server checks a custom resource.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KyvernoKind, kyvernoPolicy } from '../../cluster/kyverno/policy';
import { crdSchemaErrors, objectMetaErrors } from '../support/crd-schema';

// biome-ignore lint/suspicious/noExplicitAny: policies and schemas are plain JSON here
type Json = any;

const schema = (file: string): Json =>
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'events', 'kyverno', file), 'utf8'));

const CRDS: { kind: KyvernoKind; apiVersion: string; kyverno: string; schema: Json }[] = [
  {
    kind: 'ImageValidatingPolicy',
    apiVersion: 'policies.kyverno.io/v1',
    kyverno: '1.19.0',
    schema: schema('imagevalidatingpolicies.policies.kyverno.io.v1.kyverno-1.19.0.schema.json'),
  },
  {
    kind: 'ClusterPolicy',
    apiVersion: 'kyverno.io/v1',
    kyverno: '1.19.0',
    schema: schema('clusterpolicies.kyverno.io.v1.kyverno-1.19.0.schema.json'),
  },
  {
    kind: 'ClusterPolicy',
    apiVersion: 'kyverno.io/v1',
    kyverno: '1.13.0',
    schema: schema('clusterpolicies.kyverno.io.v1.kyverno-1.13.0.schema.json'),
  },
];

const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();
const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const policy = (kind: KyvernoKind, failureAction: 'Enforce' | 'Audit'): Json =>
  kyvernoPolicy({
    kind,
    failureAction,
    publicKeyPem: PEM,
    repositories: [`${ECR}/prod/*`, `${ECR}/team-a/**`],
    verdicts: ['PASS'],
    maxAge: '36h',
  });

const CASES = CRDS.flatMap((crd) =>
  (['Enforce', 'Audit'] as const).map((mode) => [crd.kind, crd.kyverno, mode, crd] as const),
);

describe('generated policies against Kyverno’s CRD schemas', () => {
  it.each(CASES)('%s (Kyverno %s CRD), %s: valid', (kind, _version, mode, crd) => {
    const generated = policy(kind, mode);
    expect(generated.apiVersion).toBe(crd.apiVersion);
    expect(generated.kind).toBe(kind);
    expect(crdSchemaErrors(crd.schema, generated)).toEqual([]);
    expect(objectMetaErrors(generated.metadata)).toEqual([]);
  });

  it('ImageValidatingPolicy is the default kind', () => {
    expect(kyvernoPolicy({ publicKeyPem: PEM, repositories: [`${ECR}/prod/*`] }).kind).toBe(
      'ImageValidatingPolicy',
    );
  });
});

/** Edits the schema check must reject: so a pass above means something. */
const IVPOL_BREAKERS: [string, (p: Json) => void, RegExp][] = [
  [
    'an unknown field',
    (p) => {
      p.spec.validationConfigurations.mutateDigests = false;
    },
    /validationConfigurations\.mutateDigests: unknown field/,
  ],
  [
    'a value outside the enum',
    (p) => {
      p.spec.validationActions = ['Block'];
    },
    /validationActions\[0\]: must be one of/,
  ],
  [
    'a duplicate in a set',
    (p) => {
      p.spec.validationActions = ['Audit', 'Audit'];
    },
    /duplicate entries/,
  ],
  [
    'an attestor with both cosign and notary (oneOf)',
    (p) => {
      p.spec.attestors[0].notary = { certs: { value: 'x' } };
    },
    /attestors\[0\]: must match exactly one/,
  ],
  [
    'a string where an integer goes',
    (p) => {
      p.spec.webhookConfiguration.timeoutSeconds = '15';
    },
    /timeoutSeconds: must be of type integer/,
  ],
  [
    'a missing required field',
    (p) => {
      delete p.spec.validations;
    },
    /validations is required/,
  ],
  [
    'the ClusterPolicy shape under the new kind',
    (p) => {
      p.spec.rules = [];
    },
    /spec\.rules: unknown field/,
  ],
];

const CPOL_BREAKERS: [string, (p: Json) => void, RegExp][] = [
  [
    'failureAction outside the enum',
    (p) => {
      p.spec.rules[0].verifyImages[0].failureAction = 'Deny';
    },
    /failureAction: must be one of/,
  ],
  [
    'an unknown verifyImages field',
    (p) => {
      p.spec.rules[0].verifyImages[0].validationActions = ['Deny'];
    },
    /verifyImages\[0\]\.validationActions: unknown field/,
  ],
  [
    'a condition operator outside the enum',
    (p) => {
      p.spec.rules[0].verifyImages[0].attestations[0].conditions[0].all[0].operator = 'Matches';
    },
    /operator: must be one of/,
  ],
];

describe('the schema check rejects what the API server rejects', () => {
  const [ivpolCrd, cpolCrd] = CRDS;
  it.each(IVPOL_BREAKERS)('ImageValidatingPolicy with %s', (_name, breakIt, message) => {
    const broken = structuredClone(policy('ImageValidatingPolicy', 'Enforce'));
    breakIt(broken);
    expect(crdSchemaErrors(ivpolCrd?.schema, broken).join('\n')).toMatch(message);
  });

  it.each(CPOL_BREAKERS)('ClusterPolicy with %s', (_name, breakIt, message) => {
    const broken = structuredClone(policy('ClusterPolicy', 'Enforce'));
    breakIt(broken);
    expect(crdSchemaErrors(cpolCrd?.schema, broken).join('\n')).toMatch(message);
  });

  it('ObjectMeta: a label value that is no label value, a name that is no DNS subdomain', () => {
    expect(
      objectMetaErrors({
        name: 'Registry_Watcher',
        labels: { 'app.kubernetes.io/version': 'v 1' },
      }),
    ).toHaveLength(2);
    expect(objectMetaErrors({ name: 'x', labels: { a: 'b'.repeat(64) } })).toHaveLength(1);
  });

  it('a schema keyword the check does not implement throws instead of passing', () => {
    expect(() => crdSchemaErrors({ type: 'object', 'x-kubernetes-validations': [] }, {})).toThrow(
      /x-kubernetes-validations not supported/,
    );
  });
});
