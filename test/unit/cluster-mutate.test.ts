import { type AdmitOptions, admit } from '../../cluster/webhook/admit';
import { indexAllowlist } from '../../cluster/webhook/allowlist-index';
import { imagePointer, pinTags } from '../../cluster/webhook/mutate';
import { loadFixture } from '../../events';
import { buildAllowlist } from '../../shared/domain/allowlist';
import { admitted, digest, ECR, reviewWith } from '../support/cluster';
import { applyJsonPatch, PatchFailedError } from '../support/json-patch';

const NOW = new Date('2026-11-23T12:00:00Z');
const API = `${ECR}/prod/api`;
const index = indexAllowlist(
  buildAllowlist(
    [
      admitted('prod/api', 1, { tags: ['1.4.2', 'latest'] }),
      admitted('prod/api', 2, { tags: ['shared'] }),
      admitted('prod/api', 3, { tags: ['shared'] }),
      admitted('prod/models', 4, { tags: ['v7'] }),
    ],
    { sequence: 1, now: new Date('2026-11-23T00:00:00Z'), validityMs: 86_400_000, policyHash: 'p' },
  ),
);
const OPTIONS: AdmitOptions = {
  resolveTags: true,
  unwatchedRegistries: 'deny',
  failureMode: 'closed',
  exemptNamespaces: ['kube-system'],
};

const decodePatch = (patch: string | undefined) =>
  JSON.parse(Buffer.from(patch ?? '', 'base64').toString('utf8'));

/** The API server applies the patch to the object under review, then reviews it again. */
function patchObject<T extends { request: { object: unknown } }>(review: T, patch: unknown): T {
  return {
    ...review,
    request: { ...review.request, object: applyJsonPatch(review.request.object, patch) },
  };
}

describe('pinTags: the mutating endpoint', () => {
  it('rewrites each resolvable tag to <reference>@<digest>, and the validating endpoint then admits without a warning', () => {
    const review = reviewWith('k8s/admission-review-cronjob', {
      containers: [`${API}:1.4.2`],
      initContainers: [`${API}@${digest(2)}`],
      imageVolumes: [`${ECR}/prod/models:v7`],
    });
    const before = admit(review, 'enforce', index, OPTIONS, NOW);
    expect(before).toMatchObject({ outcome: 'warned', reason: 'TAG_RESOLVED' });

    const pinning = pinTags(review, index, OPTIONS, NOW);
    expect(pinning.response).toMatchObject({
      uid: review.request.uid,
      allowed: true,
      patchType: 'JSONPatch',
    });
    const patch = decodePatch(pinning.response?.patch);
    const spec = '/spec/jobTemplate/spec/template/spec';
    expect(patch).toEqual([
      { op: 'test', path: `${spec}/containers/0/image`, value: `${API}:1.4.2` },
      { op: 'replace', path: `${spec}/containers/0/image`, value: `${API}:1.4.2@${digest(1)}` },
      { op: 'test', path: `${spec}/volumes/1/image/reference`, value: `${ECR}/prod/models:v7` },
      {
        op: 'replace',
        path: `${spec}/volumes/1/image/reference`,
        value: `${ECR}/prod/models:v7@${digest(4)}`,
      },
    ]);
    expect(pinning.response?.warnings).toHaveLength(2);

    const patched = patchObject(review, patch);
    const after = admit(patched, 'enforce', index, OPTIONS, NOW);
    expect(after).toMatchObject({ outcome: 'admitted', reason: 'ALLOWLISTED' });
    expect(after.response).toEqual({ uid: review.request.uid, allowed: true });
    // With tags no longer trusted, the same patched object passes with resolveTags off too.
    expect(admit(patched, 'enforce', index, { ...OPTIONS, resolveTags: false }, NOW).reason).toBe(
      'ALLOWLISTED',
    );
  });

  it('the implicit latest tag is pinned as written', () => {
    const review = reviewWith('k8s/admission-review-pod', { containers: [API] });
    const patch = decodePatch(pinTags(review, index, OPTIONS, NOW).response?.patch);
    expect(patch[1]).toEqual({
      op: 'replace',
      path: '/spec/containers/0/image',
      value: `${API}@${digest(1)}`,
    });
  });

  it.each<[string, () => unknown, AdmitOptions]>([
    [
      'resolveTags off: tags are denied, not pinned',
      () => reviewWith('k8s/admission-review-pod', { containers: [`${API}:1.4.2`] }),
      { ...OPTIONS, resolveTags: false },
    ],
    [
      'a tag on two digests',
      () => reviewWith('k8s/admission-review-pod', { containers: [`${API}:shared`] }),
      OPTIONS,
    ],
    [
      'a tag on no digest',
      () => reviewWith('k8s/admission-review-pod', { containers: [`${API}:9.9`] }),
      OPTIONS,
    ],
    [
      'already pinned',
      () => reviewWith('k8s/admission-review-pod', { containers: [`${API}:1.4.2@${digest(1)}`] }),
      OPTIONS,
    ],
    [
      'unwatched registry',
      () => reviewWith('k8s/admission-review-pod', { containers: ['ghcr.io/acme/app:1.4.2'] }),
      OPTIONS,
    ],
    [
      'invalid reference',
      () => reviewWith('k8s/admission-review-pod', { containers: [` ${API}:1.4.2`] }),
      OPTIONS,
    ],
    [
      'exempt namespace',
      () => {
        const r = reviewWith('k8s/admission-review-pod', { containers: [`${API}:1.4.2`] });
        r.request.namespace = 'kube-system';
        return r;
      },
      OPTIONS,
    ],
    [
      'malformed object',
      () => {
        const r = reviewWith('k8s/admission-review-pod', { containers: [`${API}:1.4.2`] });
        r.request.object = { spec: { containers: 'x' } };
        return r;
      },
      OPTIONS,
    ],
  ])('leaves alone, and never denies: %s', (_, build, options) => {
    const review = build() as { request: { uid: string } };
    const pinning = pinTags(review, index, options, NOW);
    expect(pinning.response).toEqual({ uid: review.request.uid, allowed: true });
    expect(pinning.patch).toEqual([]);
  });

  it('no allowlist loaded: nothing is pinned', () => {
    const review = reviewWith('k8s/admission-review-pod', { containers: [`${API}:1.4.2`] });
    expect(pinTags(review, undefined, OPTIONS, NOW).patch).toEqual([]);
  });

  it('pods/ephemeralcontainers: only the ephemeral containers are pinned; legacy kind at the root', () => {
    const sub = reviewWith('k8s/admission-review-pod-ephemeralcontainers', {
      containers: [`${API}:1.4.2`],
      ephemeralContainers: [`${API}:latest`],
    });
    expect(decodePatch(pinTags(sub, index, OPTIONS, NOW).response?.patch)[1].path).toBe(
      '/spec/ephemeralContainers/0/image',
    );
    const legacy = reviewWith('k8s/admission-review-ephemeralcontainers-legacy', {
      ephemeralContainers: [`${API}:1.4.2`],
    });
    const patch = decodePatch(pinTags(legacy, index, OPTIONS, NOW).response?.patch);
    expect(patchObject(legacy, patch).request.object).toMatchObject({
      ephemeralContainers: [{ image: `${API}:1.4.2@${digest(1)}` }],
    });
  });

  it('a patch made for one reference does not apply to an object changed since (test op)', () => {
    const review = reviewWith('k8s/admission-review-pod', { containers: [`${API}:1.4.2`] });
    const patch = decodePatch(pinTags(review, index, OPTIONS, NOW).response?.patch);
    const changed = structuredClone(review);
    (changed.request.object.spec as { containers: { image: string }[] }).containers[0] = {
      image: `${API}:other`,
    };
    expect(() => patchObject(changed, patch)).toThrow(PatchFailedError);
  });

  it('no body uid: answered 400 by the server, like the validating endpoint', () => {
    const review = loadFixture('k8s/admission-review-pod') as { request: Partial<{ uid: string }> };
    delete review.request.uid;
    expect(pinTags(review, index, OPTIONS, NOW).response).toBeUndefined();
  });

  it.each([
    ['spec.containers[0]', 'containers', '/spec/containers/0/image'],
    ['spec.template.spec.volumes[12]', 'volumes', '/spec/template/spec/volumes/12/image/reference'],
    ['ephemeralContainers[3]', 'ephemeralContainers', '/ephemeralContainers/3/image'],
  ])('pointer of %s', (field, kind, pointer) => {
    expect(imagePointer(field, kind)).toBe(pointer);
  });
});
