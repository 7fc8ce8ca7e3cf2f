/**
 * The ImageValidatingPolicy's CEL validations, run by a CEL evaluator (@bufbuild/cel, which
 * passes the cel-spec conformance suite) with Kyverno's image functions stood in for as
 * Kyverno v1.19.0 defines them:
 * - `images`: per container kind, only the images matchImageReferences matched, each kind
 *   present even when empty (pkg/image/verification/evaluator/policy.go:146-157, :174);
 * - `attestations`: name → name; `attestors`: name → the attestor (policy.go:175-186);
 * - `verifyAttestationSignatures(image, attestation, [attestor…])`: the number of attestors
 *   whose signature verified; an undeclared attestation is an error
 *   (pkg/cel/libs/imageverify/impl.go:214-290, :234-237);
 * - `extractPayload(image, attestation)`: the verified in-toto statement, an error when none
 *   verified (impl.go:351-385);
 * - `time.now()`: kyverno/sdk extensions/cel/libs/time.
 * Admitted means every validation evaluates to true, as Kyverno's validations do.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CelScalar,
  type CelValue,
  celError,
  celFunc,
  isCelError,
  isCelList,
  isCelMap,
  run,
} from '@bufbuild/cel';
import { kyvernoPolicy } from '../../cluster/kyverno/policy';
import { VULN_PREDICATE_TYPE } from '../../shared/domain/attestation';

// biome-ignore lint/suspicious/noExplicitAny: policies and payloads are plain JSON here
type Json = any;

const NOW = new Date('2026-12-03T10:00:00Z');
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000).toISOString();
const key = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString()
    .trim();
const OUR_KEY = key();
const OTHER_KEY = key();
const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

interface Attested {
  signedWith: string;
  result: Record<string, string>;
}

/** What the registry holds: per image, the verdict attestation attached to it. */
type Registry = Map<string, Attested>;

function kyvernoFunctions(registry: Registry, declared: Set<string>, verified: Set<string>) {
  const plain = (value: CelValue): Json => {
    if (isCelList(value)) return [...value].map(plain);
    if (isCelMap(value)) return Object.fromEntries([...value].map(([k, v]) => [k, plain(v)]));
    return value;
  };
  return [
    celFunc(
      'verifyAttestationSignatures',
      [CelScalar.STRING, CelScalar.STRING, CelScalar.DYN],
      CelScalar.INT,
      (image, attestation, attestors) => {
        if (!declared.has(attestation)) {
          return celError(`attestation not found in policy: ${attestation}`) as never;
        }
        const attached = registry.get(image);
        const count = (plain(attestors) as Json[]).filter(
          (a) => attached && a.cosign?.key?.data === attached.signedWith,
        ).length;
        if (count > 0) verified.add(image);
        return BigInt(count);
      },
    ),
    celFunc('extractPayload', [CelScalar.STRING, CelScalar.STRING], CelScalar.DYN, (image) => {
      const attached = registry.get(image);
      if (!attached || !verified.has(image)) {
        return celError('failed to get payload: no verified attestation') as never;
      }
      return {
        _type: 'https://in-toto.io/Statement/v1',
        predicateType: VULN_PREDICATE_TYPE,
        predicate: { scanner: { result: attached.result } },
      };
    }),
    celFunc('time.now', [], CelScalar.DYN, () => ({
      $typeName: 'google.protobuf.Timestamp',
      seconds: BigInt(Math.floor(NOW.getTime() / 1000)),
      nanos: 0,
    })),
  ];
}

interface Images {
  containers: string[];
  initContainers?: string[];
  [list: string]: string[] | undefined;
}

/** The failed validations' messages (an error counts as failed), as Kyverno reports them. */
function evaluate(policy: Json, images: Images, registry: Registry): string[] {
  const spec = policy.spec;
  const declared = new Set<string>(spec.attestations.map((a: Json) => a.name));
  const verified = new Set<string>();
  const funcs = kyvernoFunctions(registry, declared, verified);
  const bindings = {
    images: { initContainers: [], ephemeralContainers: [], ...images },
    attestations: Object.fromEntries([...declared].map((n) => [n, n])),
    attestors: Object.fromEntries(spec.attestors.map((a: Json) => [a.name, a])),
  };
  return spec.validations.flatMap((v: Json) => {
    const out = run(v.expression, bindings, { funcs });
    if (isCelError(out)) return [`${v.message} (error: ${out.message})`];
    return out === true ? [] : [v.message];
  });
}

const policy = (verdicts?: string[]) =>
  kyvernoPolicy({ publicKeyPem: OUR_KEY, repositories: [`${ECR}/prod/*`], verdicts });
const image = (n: number) => `${ECR}/prod/api@sha256:${String(n).repeat(64).slice(0, 64)}`;
const attested = (result: Record<string, string>, signedWith = OUR_KEY): Attested => ({
  signedWith,
  result,
});

describe('ImageValidatingPolicy validations, evaluated', () => {
  const fresh = { verdict: 'PASS', evaluatedAt: hoursAgo(1) };

  it.each([
    ['PASS, evaluated an hour ago, no expiresAt', fresh, []],
    ['WARN', { ...fresh, verdict: 'WARN' }, []],
    ['expiresAt ahead', { ...fresh, expiresAt: hoursAgo(-2) }, []],
    ['evaluated 47 h ago', { ...fresh, evaluatedAt: hoursAgo(47) }, []],
    ['FAIL', { ...fresh, verdict: 'FAIL' }, ['is not one of PASS, WARN']],
    ['PENDING', { ...fresh, verdict: 'PENDING' }, ['is not one of PASS, WARN']],
    ['evaluated 49 h ago', { ...fresh, evaluatedAt: hoursAgo(49) }, ['is older than 48h']],
    ['expired a minute ago', { ...fresh, expiresAt: hoursAgo(1 / 60) }, ['has expired']],
  ] as const)('%s', (_name, result, failures) => {
    const registry: Registry = new Map([[image(1), attested(result)]]);
    const failed = evaluate(policy(), { containers: [image(1)] }, registry);
    expect(failed).toEqual(failures.map((f) => expect.stringContaining(f)));
  });

  it('an attestation signed with another key: denied, and no payload is read', () => {
    const registry: Registry = new Map([[image(1), attested(fresh, OTHER_KEY)]]);
    const failed = evaluate(policy(), { containers: [image(1)] }, registry);
    expect(failed[0]).toBe('no verdict attestation signed with the registry-watcher key');
    expect(failed.slice(1).every((f) => f.includes('failed to get payload'))).toBe(true);
  });

  it('no attestation at all: denied', () => {
    expect(evaluate(policy(), { containers: [image(1)] }, new Map())).toHaveLength(4);
  });

  it('an initContainer with a FAIL verdict among admitted containers: denied', () => {
    const registry: Registry = new Map([
      [image(1), attested(fresh)],
      [image(2), attested({ ...fresh, verdict: 'FAIL' })],
    ]);
    expect(
      evaluate(policy(), { containers: [image(1)], initContainers: [image(2)] }, registry),
    ).toEqual(['the registry-watcher verdict is not one of PASS, WARN']);
  });

  it('--verdicts PASS: a WARN verdict is denied', () => {
    const registry: Registry = new Map([[image(1), attested({ ...fresh, verdict: 'WARN' })]]);
    expect(evaluate(policy(['PASS']), { containers: [image(1)] }, registry)).toEqual([
      'the registry-watcher verdict is not one of PASS',
    ]);
  });

  it('a Pod with no matched image passes (other images are not this policy’s)', () => {
    expect(evaluate(policy(), { containers: [] }, new Map())).toEqual([]);
  });
});

/**
 * `images` as Kyverno v1.19.0 builds it for a policy: its built-in extractors for the kind
 * (pkg/cel/compiler/images.go; written here with has() for the `.?x.orValue([])` optionals
 * @bufbuild/cel lacks) plus the policy's spec.images (CompileImageExtractors appends them),
 * each list keeping only what matchImageReferences matched (evaluator/policy.go:146-157),
 * by gobwas/glob without separators, where `*` also crosses `/` (compiler/image.go).
 */
function extractImages(spec: Json, object: Json, builtIn: string): Record<string, string[]> {
  const builtIns = ['containers', 'initContainers', 'ephemeralContainers'].map((name) => ({
    name,
    expression: `has(${builtIn}.${name}) ? ${builtIn}.${name}.map(e, e.image) : []`,
  }));
  const globs = spec.matchImageReferences.map(
    (m: Json) =>
      new RegExp(`^${m.glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`),
  );
  return Object.fromEntries(
    [...builtIns, ...(spec.images ?? [])].map((e: Json) => {
      const out = run(e.expression, { object }, {});
      if (isCelError(out)) throw out;
      const all = [...(out as Iterable<string>)];
      return [e.name, all.filter((image) => globs.some((g: RegExp) => g.test(image)))];
    }),
  );
}

/** Kyverno's autogen for Deployments: `object.spec` → `object.spec.template.spec` in the spec's JSON (pkg/cel/autogen/replacement.go, data.go). */
const autogenForControllers = (spec: Json): Json =>
  JSON.parse(JSON.stringify(spec).replaceAll('object.spec', 'object.spec.template.spec'));

const fixture = (name: string): Json =>
  JSON.parse(readFileSync(join(__dirname, '../../events/k8s', `${name}.json`), 'utf8')).request
    .object;

describe('image volumes (spec.volumes[].image.reference, Kubernetes ≥ 1.31)', () => {
  const pod = fixture('admission-review-pod');
  const spec: Json = policy().spec;
  const fresh = { verdict: 'PASS', evaluatedAt: hoursAgo(1) };
  const volume: string = pod.spec.volumes.find((v: Json) => v.image).image.reference;
  const others: string[] = [...pod.spec.containers, ...pod.spec.initContainers].map(
    (c: Json) => c.image,
  );
  const registryWith = (volumeResult: Attested | undefined): Registry =>
    new Map([
      ...others.map((i) => [i, attested(fresh)] as const),
      ...(volumeResult ? [[volume, volumeResult] as const] : []),
    ]);

  it('the fixture Pod’s image volume is among the images the policy checks', () => {
    const images = extractImages(spec, pod, 'object.spec');
    expect(images.imageVolumes).toEqual([volume]);
    expect(images.containers).toEqual(pod.spec.containers.map((c: Json) => c.image));
  });

  it('every image PASS, the volume too: admitted', () => {
    const images = extractImages(spec, pod, 'object.spec');
    expect(evaluate(policy(), images as Images, registryWith(attested(fresh)))).toEqual([]);
  });

  it.each([
    ['a FAIL verdict', attested({ ...fresh, verdict: 'FAIL' }), ['is not one of PASS, WARN']],
    ['no attestation', undefined, ['no verdict attestation signed']],
    ['signed with another key', attested(fresh, OTHER_KEY), ['no verdict attestation signed']],
  ] as const)('the image volume with %s: denied', (_name, result, first) => {
    const images = extractImages(spec, pod, 'object.spec');
    const failed = evaluate(policy(), images as Images, registryWith(result));
    expect(failed[0]).toEqual(expect.stringContaining(first[0]));
  });

  it('without spec.images the volume would go unchecked (what the extractor is for)', () => {
    const images = extractImages({ ...spec, images: [] }, pod, 'object.spec');
    expect(images.imageVolumes).toBeUndefined();
    const failing = registryWith(attested({ ...fresh, verdict: 'FAIL' }));
    expect(evaluate(policy(), images as Images, failing)).toEqual([]);
  });

  it('a Deployment, through autogen: its template’s image volume is checked', () => {
    const deployment = fixture('admission-review-deployment');
    const template = deployment.spec.template.spec;
    const images = extractImages(
      autogenForControllers(spec),
      deployment,
      'object.spec.template.spec',
    );
    const reference = template.volumes.find((v: Json) => v.image).image.reference;
    expect(images.imageVolumes).toEqual([reference]);
    const registry: Registry = new Map(
      [...template.containers, ...(template.initContainers ?? [])].map(
        (c: Json) => [c.image, attested(fresh)] as const,
      ),
    );
    registry.set(reference, attested({ ...fresh, verdict: 'FAIL' }));
    expect(evaluate(policy(), images as Images, registry)).toEqual([
      'the registry-watcher verdict is not one of PASS, WARN',
    ]);
  });
});
