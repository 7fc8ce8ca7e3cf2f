/**
 * The mutating endpoint over HTTPS, as the API server uses it: POST /mutate, apply the
 * JSONPatch it returns to the object (RFC 6902, test/support/json-patch.ts), then POST the
 * patched object to /validate/enforce. Tag resolution uses the signed allowlist's tag map
 * only (the webhook never calls the registry); the last test moves a tag in a real
 * registry (Debian's docker-registry on loopback) to show what the node then pulls.
 */
import { randomUUID } from 'node:crypto';
import type { AdmissionReviewRequestFixture } from '../../events';
import { RegistryClient } from '../../shared/adapters/oci/client';
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
import { pushImage } from '../support/oci-images';
import { startRegistry } from '../support/registry';

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
    expect(metrics.body).toMatch(/^registrywatcher_admission_tags_pinned_total [1-9]/m);
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

describe('a tag moved in the registry after admission', () => {
  it('the pinned reference still pulls the judged digest; the unpinned one pulls the new one', async () => {
    const registry = await startRegistry();
    const client = new RegistryClient({ registry: registry.host });
    const signer = newSigner();
    let gate: TestWebhook | undefined;
    try {
      const judged = await pushImage(client, 'team/app', { tag: '1.0', content: 'judged\n' });
      gate = await startTestWebhook(
        await signedAllowlist(signer, [
          {
            registry: registry.host,
            repository: 'team/app',
            digest: judged.digest,
            verdict: 'PASS',
            tags: ['1.0'],
          },
        ]),
        { resolveTags: true },
        { signer },
      );
      const image = `${registry.host}/team/app:1.0`;
      const review = reviewWith('k8s/admission-review-pod', { containers: [image] });
      const { body } = await post(gate.url('/mutate'), review, gate.tls.ca);
      const patch = JSON.parse(Buffer.from(body.response.patch, 'base64').toString('utf8'));
      const object = applyJsonPatch(review.request.object, patch) as {
        spec: { containers: { image: string }[] };
      };
      const pinned = object.spec.containers[0]?.image ?? '';
      expect(pinned).toBe(`${image}@${judged.digest}`);

      // Someone with push rights moves the tag.
      const moved = await pushImage(client, 'team/app', { tag: '1.0', content: 'moved\n' });
      expect(moved.digest).not.toBe(judged.digest);

      // A runtime pulls a reference with a digest by its digest, a tag-only one by its tag.
      const pull = (ref: string) => {
        const at = ref.indexOf('@');
        const reference = at >= 0 ? ref.slice(at + 1) : ref.slice(ref.lastIndexOf(':') + 1);
        return client.getManifest('team/app', reference);
      };
      expect((await pull(pinned)).digest).toBe(judged.digest);
      expect((await pull(image)).digest).toBe(moved.digest);
      // And the validating endpoint alone still admits the unpinned tag (with a warning).
      const unpinned = await post(gate.url('/validate/enforce'), review, gate.tls.ca);
      expect(unpinned.body.response).toMatchObject({
        allowed: true,
        warnings: [expect.any(String)],
      });
    } finally {
      await gate?.close();
      await registry.stop();
    }
  });
});
