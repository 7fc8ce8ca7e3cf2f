/**
 * The mutating endpoint over HTTPS, as the API server uses it: POST /mutate, apply the
 * JSONPatch it returns to the object (RFC 6902, test/support/json-patch.ts), then POST the
 * patched object to /validate/enforce. Tag resolution uses the signed allowlist's tag map
 * only (the webhook never calls the registry), so no registry runs here.
 */
import { randomUUID } from 'node:crypto';
import type { AdmissionReviewRequestFixture } from '../../events';
import {
  admitted,
  digest,
  ECR,
  get,
  newSigner,
  post,
  reviewWith,
  signedAllowlist,
  startTestWebhook,
  type TestWebhook,
} from '../support/cluster';
import { applyJsonPatch } from '../support/json-patch';

const API = `${ECR}/prod/api`;
let hook: TestWebhook;

beforeAll(async () => {
  const signer = newSigner();
  hook = await startTestWebhook(
    await signedAllowlist(signer, [
      admitted('prod/api', 1, { tags: ['1.4.2'] }),
      admitted('prod/api', 2, { tags: ['shared'] }),
      admitted('prod/api', 3, { tags: ['shared'] }),
      admitted('prod/models', 4, { tags: ['v7'] }),
    ]),
    { resolveTags: true, unwatchedRegistries: 'allow' },
    { signer },
  );
});
afterAll(() => hook.close());

async function mutateThenValidate(review: AdmissionReviewRequestFixture) {
  review.request.uid = randomUUID();
  const mutated = await post(hook.url('/mutate'), review, hook.tls.ca);
  expect(mutated.status).toBe(200);
  expect(mutated.body.response).toMatchObject({ uid: review.request.uid, allowed: true });
  const { patch, patchType } = mutated.body.response;
  let object = review.request.object;
  if (patch !== undefined) {
    expect(patchType).toBe('JSONPatch');
    object = applyJsonPatch(object, JSON.parse(Buffer.from(patch, 'base64').toString('utf8')));
  }
  const patched = { ...review, request: { ...review.request, object, uid: randomUUID() } };
  const validated = await post(hook.url('/validate/enforce'), patched, hook.tls.ca);
  return { mutated: mutated.body.response, validated: validated.body.response, object };
}

describe('tags are pinned by the mutating endpoint', () => {
  it('without it, resolveTags admits the tag with a warning: the node may pull another digest', async () => {
    const review = reviewWith('k8s/admission-review-deployment', { containers: [`${API}:1.4.2`] });
    const { body } = await post(hook.url('/validate/enforce'), review, hook.tls.ca);
    expect(body.response.allowed).toBe(true);
    expect(body.response.warnings).toEqual([expect.stringContaining('not pinned')]);
  });

  it('with it, the Deployment’s container and image volume carry the digest and validation sees a digest', async () => {
    const review = reviewWith('k8s/admission-review-deployment', {
      containers: [`${API}:1.4.2`],
      imageVolumes: [`${ECR}/prod/models:v7`],
    });
    const { mutated, validated, object } = await mutateThenValidate(review);
    expect(mutated.warnings).toHaveLength(2);
    const spec = (object as { spec: { template: { spec: Record<string, unknown> } } }).spec.template
      .spec;
    expect(spec.containers).toMatchObject([{ image: `${API}:1.4.2@${digest(1)}` }]);
    expect(spec.volumes).toContainEqual(
      expect.objectContaining({
        image: expect.objectContaining({ reference: `${ECR}/prod/models:v7@${digest(4)}` }),
      }),
    );
    expect(validated).toEqual({ uid: expect.any(String), allowed: true });
    const metrics = await get(hook.url('/metrics'), hook.tls.ca);
    expect(metrics.body).toMatch(/^registry_watcher_admission_tags_pinned_total [1-9]/m);
    expect(hook.log.entries.some((e) => e.message === 'tags pinned')).toBe(true);
  });

  // Pinning never turns a denial into an admission: each row is still denied after /mutate.
  const STILL_DENIED: [string, string[], string][] = [
    ['a tag on two admitted digests', [`${API}:shared`], 'TAG_AMBIGUOUS'],
    ['a tag on no admitted digest', [`${API}:9.9`], 'TAG_NOT_ALLOWLISTED'],
    ['an admitted tag with a FAIL digest', [`${API}:1.4.2@${digest(0xf41)}`], 'NOT_ALLOWLISTED'],
    [
      'a pinned container next to an unlisted one',
      [`${API}:1.4.2`, `${API}@${digest(9)}`],
      'NOT_ALLOWLISTED',
    ],
    ['an admitted tag spelt with whitespace', [` ${API}:1.4.2`], 'INVALID_REFERENCE'],
  ];
  it.each(STILL_DENIED)('still denied after pinning: %s', async (_, containers, reason) => {
    const { validated } = await mutateThenValidate(
      reviewWith('k8s/admission-review-pod', { containers }),
    );
    expect(validated.allowed).toBe(false);
    const uid = validated.uid;
    const logged = hook.log.entries.find(
      (e) => e.fields.uid === uid && e.message === 'admission denied',
    );
    expect(logged?.fields.reason).toBe(reason);
  });

  it('answers GET with 404 (as /validate does) and a body without uid with 400', async () => {
    const { status } = await get(hook.url('/mutate'), hook.tls.ca);
    expect(status).toBe(404);
    const bad = await post(hook.url('/mutate'), { apiVersion: 'admission.k8s.io/v1' }, hook.tls.ca);
    expect(bad.status).toBe(400);
  });
});
