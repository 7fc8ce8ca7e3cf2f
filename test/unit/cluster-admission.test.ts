import { type AdmitOptions, admit } from '../../cluster/webhook/admit';
import { indexAllowlist } from '../../cluster/webhook/allowlist-index';
import { abbreviate, capWarnings, imageWarning, MAX_WARNING } from '../../cluster/webhook/messages';
import { MalformedObjectError, podSource } from '../../cluster/webhook/workloads';
import { loadFixture } from '../../events';
import { buildAllowlist } from '../../shared/domain/allowlist';
import { admitted, digest, ECR, reviewWith } from '../support/cluster';

const NOW = new Date('2026-11-23T12:00:00Z');
const API = `${ECR}/prod/api`;
const index = indexAllowlist(
  buildAllowlist([admitted('prod/api', 1)], {
    sequence: 1,
    now: new Date('2026-11-23T00:00:00Z'),
    validityMs: 86_400_000,
    policyHash: 'sha256:p',
  }),
);
const OPTIONS: AdmitOptions = {
  resolveTags: false,
  unwatchedRegistries: 'deny',
  failureMode: 'closed',
  exemptNamespaces: ['kube-system'],
  breakGlassAnnotation: 'registry-watcher.io/break-glass',
};

describe('podSource: each kind at its pod-spec path', () => {
  it.each([
    ['k8s/admission-review-pod', 'spec.'],
    ['k8s/admission-review-deployment', 'spec.template.spec.'],
    ['k8s/admission-review-replicaset', 'spec.template.spec.'],
    ['k8s/admission-review-statefulset', 'spec.template.spec.'],
    ['k8s/admission-review-daemonset', 'spec.template.spec.'],
    ['k8s/admission-review-job', 'spec.template.spec.'],
    ['k8s/admission-review-replicationcontroller', 'spec.template.spec.'],
    ['k8s/admission-review-cronjob', 'spec.jobTemplate.spec.template.spec.'],
  ] as const)('%s', (fixture, prefix) => {
    const { request } = loadFixture(fixture);
    const { images } = podSource(request.kind.kind, request.object, request.subResource);
    expect(images.map((i) => [i.field, i.name, i.image.split('/')[2]?.split('@')[0]])).toEqual([
      [`${prefix}containers[0]`, 'api', 'api'],
      [`${prefix}initContainers[0]`, 'migrate', 'api'],
      [`${prefix}volumes[1]`, 'models', 'models'],
    ]);
  });

  it('reads image volumes; other volume types name no image', () => {
    const spec = {
      containers: [{ name: 'a', image: 'nginx' }],
      volumes: [
        { name: 'tmp', emptyDir: {} },
        { name: 'weights', image: { reference: 'ghcr.io/acme/weights:v1' } },
        { name: 'none', image: null },
      ],
    };
    expect(podSource('Pod', { spec }).images).toEqual([
      { field: 'spec.containers[0]', kind: 'containers', name: 'a', image: 'nginx' },
      {
        field: 'spec.volumes[1]',
        kind: 'volumes',
        name: 'weights',
        image: 'ghcr.io/acme/weights:v1',
      },
    ]);
  });

  it.each([
    'k8s/admission-review-pod-ephemeralcontainers',
    'k8s/admission-review-ephemeralcontainers-legacy',
  ] as const)('%s: only the ephemeral containers', (fixture) => {
    const { request } = loadFixture(fixture);
    const { images } = podSource(request.kind.kind, request.object, request.subResource);
    expect(images.map((i) => [i.kind, i.name])).toEqual([
      ['ephemeralContainers', 'debugger-r4x7q'],
    ]);
  });

  it('reads annotations of the object and of its pod template', () => {
    const review = loadFixture('k8s/admission-review-cronjob');
    const { annotations } = podSource('CronJob', review.request.object);
    expect(annotations).toHaveLength(2);
  });

  it.each<[string, unknown, string]>([
    ['no spec', { metadata: {} }, 'spec is missing'],
    ['containers not a list', { spec: { containers: {} } }, 'spec.containers is not a list'],
    ['no containers', { spec: { initContainers: [] } }, 'spec.containers is missing or empty'],
    [
      'image not a string',
      { spec: { containers: [{ name: 'a', image: 42 }] } },
      'spec.containers[0].image',
    ],
    [
      'container not an object',
      { spec: { containers: ['nginx'] } },
      'spec.containers[0] is missing',
    ],
    [
      'volumes not a list',
      { spec: { containers: [{ image: 'nginx' }], volumes: {} } },
      'spec.volumes is not a list',
    ],
    [
      'image volume without a reference',
      { spec: { containers: [{ image: 'nginx' }], volumes: [{ name: 'v', image: {} }] } },
      'spec.volumes[0].image.reference is missing or not a string',
    ],
    [
      'image volume source not an object',
      { spec: { containers: [{ image: 'nginx' }], volumes: [{ name: 'v', image: 'nginx' }] } },
      'spec.volumes[0].image is missing or not an object',
    ],
  ])('rejects a malformed Pod: %s', (_, object, message) => {
    expect(() => podSource('Pod', object)).toThrow(MalformedObjectError);
    expect(() => podSource('Pod', object)).toThrow(message);
  });

  it('rejects a Deployment without a template', () => {
    expect(() => podSource('Deployment', { spec: {} })).toThrow('spec.template is missing');
  });
});

describe('admit', () => {
  it('answers with the request uid and admission.k8s.io/v1 shape', () => {
    const review = reviewWith('k8s/admission-review-deployment', {
      containers: [`${API}@${digest(1)}`],
    });
    const result = admit(review, 'enforce', index, OPTIONS, NOW);
    expect(result.response).toEqual({ uid: review.request.uid, allowed: true });
  });

  it('denies with 403 and a message naming field, image and what to do', () => {
    const review = reviewWith('k8s/admission-review-deployment', {
      containers: [`${API}@${digest(1)}`],
      initContainers: [`${API}:1.4.2`],
    });
    const { response } = admit(review, 'enforce', index, OPTIONS, NOW);
    expect(response).toMatchObject({ allowed: false, status: { code: 403, reason: 'Forbidden' } });
    expect(response?.status?.message).toContain(
      `spec.template.spec.initContainers[0] (initcontainer-0) "${API}:1.4.2": "${API}:1.4.2" is not pinned by digest: use ${API}@sha256:<digest>`,
    );
  });

  it('denies an unlisted image volume next to an admitted container, as it would a container', () => {
    const review = reviewWith('k8s/admission-review-statefulset', {
      containers: [`${API}@${digest(1)}`],
      imageVolumes: [`${API}@${digest(9)}`],
    });
    const { response } = admit(review, 'enforce', index, OPTIONS, NOW);
    expect(response).toMatchObject({ allowed: false, status: { code: 403 } });
    expect(response?.status?.message).toContain(
      `spec.template.spec.volumes[1] (image-volume-0) "${API}@${digest(9)}": not in the allowlist (never evaluated, pending, failed or deleted: this allowlist does not say which): run registry-watcher explain ${API}@${digest(9)}`,
    );
    const warned = admit(review, 'warn', index, OPTIONS, NOW).response?.warnings;
    expect(warned).toEqual([
      expect.stringMatching(
        /^would be denied: imageVolume image-volume-0 .*digest not in the allowlist$/,
      ),
    ]);
  });

  it('pods/ephemeralcontainers checks only the ephemeral containers, not image volumes', () => {
    const review = reviewWith('k8s/admission-review-pod-ephemeralcontainers', {
      containers: [`${API}@${digest(9)}`],
      ephemeralContainers: [`${API}@${digest(1)}`],
      imageVolumes: [`${API}@${digest(9)}`],
    });
    expect(admit(review, 'enforce', index, OPTIONS, NOW).response?.allowed).toBe(true);
  });

  it('exempt namespaces are admitted without a look at the object', () => {
    const review = loadFixture('k8s/admission-review-pod');
    review.request.namespace = 'kube-system';
    review.request.object = { broken: true };
    expect(admit(review, 'enforce', index, OPTIONS, NOW)).toMatchObject({
      outcome: 'admitted',
      reason: 'EXEMPT_NAMESPACE',
    });
  });

  it.each(['DELETE', 'CONNECT'] as const)('%s is not checked', (operation) => {
    const review = loadFixture('k8s/admission-review-pod');
    review.request.operation = operation;
    expect(admit(review, 'enforce', index, OPTIONS, NOW).reason).toBe('NOT_A_WORKLOAD');
  });

  it('break-glass on the pod template admits a bad image', () => {
    const review = reviewWith('k8s/admission-review-deployment', {
      containers: [`${API}@${digest(9)}`],
    });
    const template = (
      review.request.object.spec as { template: { metadata: Record<string, unknown> } }
    ).template;
    template.metadata.annotations = { 'registry-watcher.io/break-glass': 'INC-42: hotfix' };
    const result = admit(review, 'enforce', index, OPTIONS, NOW);
    expect(result).toMatchObject({ outcome: 'warned', reason: 'BREAK_GLASS' });
    expect(result.response?.warnings?.[0]).toContain('INC-42: hotfix');
  });

  it('an empty break-glass annotation is ignored', () => {
    const review = reviewWith('k8s/admission-review-pod', { containers: [`${API}@${digest(9)}`] });
    (review.request.object.metadata as Record<string, unknown>).annotations = {
      'registry-watcher.io/break-glass': ' ',
    };
    expect(admit(review, 'enforce', index, OPTIONS, NOW).outcome).toBe('denied');
  });

  it.each<[string, unknown, number | undefined]>([
    ['not JSON (parse error placeholder)', { parseError: 'Unexpected token' }, undefined],
    [
      'v1beta1',
      { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'u' } },
      400,
    ],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, undefined],
  ])('malformed review: %s', (_, body, code) => {
    const result = admit(body, 'enforce', index, OPTIONS, NOW);
    expect(result.reason).toBe('MALFORMED_REQUEST');
    expect(result.response?.status?.code).toBe(code);
    expect(result.error).toContain('not an admission.k8s.io/v1 AdmissionReview');
  });

  it('a malformed object in warn mode is admitted with a warning', () => {
    const review = loadFixture('k8s/admission-review-pod');
    review.request.object = { spec: { containers: 'nginx' } };
    const result = admit(review, 'warn', index, OPTIONS, NOW);
    expect(result.response).toMatchObject({
      allowed: true,
      warnings: [expect.stringContaining('spec.containers is not a list')],
    });
  });
});

describe('warnings', () => {
  const check = (image: string, name = 'api') => ({
    container: { field: 'spec.containers[0]', kind: 'initContainers' as const, name, image },
    outcome: 'deny' as const,
    reason: 'NOT_ALLOWLISTED' as const,
    message: '',
  });

  it.each([
    `${API}@${digest(1)}`,
    `${ECR}/${'very-long-team-name/'.repeat(8)}service@${digest(1)}`,
    `ghcr.io/acme/app:${'t'.repeat(120)}`,
  ])('stay under 120 characters: %s', (image) => {
    const text = imageWarning(check(image, 'n'.repeat(63)), 'would be denied: ');
    expect(text.length).toBeLessThanOrEqual(MAX_WARNING);
    expect(text).not.toMatch(/\n/);
  });

  it('shorten the digest to 12 hex characters first', () => {
    expect(abbreviate(`${API}@${digest(1)}`, 200)).toBe(`${API}@sha256:000000000000`);
  });

  it('are capped with a pointer to the log', () => {
    const capped = capWarnings(Array.from({ length: 30 }, (_, i) => `w${i}`));
    expect(capped).toHaveLength(20);
    expect(capped[19]).toBe('… and 11 more warning(s): see the webhook log');
  });
});
