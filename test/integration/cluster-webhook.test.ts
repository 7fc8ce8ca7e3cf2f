import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FixtureName } from '../../events';
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
import { parsePrometheusText } from '../support/prometheus-text';

const API = `${ECR}/prod/api`;
const GOOD = `${API}@${digest(1)}`;
const GOOD_INIT = `${API}@${digest(2)}`;
const BAD = `${API}@${digest(66)}`;

let hook: TestWebhook;

beforeAll(async () => {
  const signer = newSigner();
  hook = await startTestWebhook(
    await signedAllowlist(signer, [
      admitted('prod/api', 1, { tags: ['1.4.2'] }),
      admitted('prod/api', 2),
    ]),
    { exemptNamespaces: ['kube-system'] },
    { signer },
  );
});
afterAll(() => hook.close());

const KINDS: FixtureName[] = [
  'k8s/admission-review-pod',
  'k8s/admission-review-deployment',
  'k8s/admission-review-replicaset',
  'k8s/admission-review-statefulset',
  'k8s/admission-review-daemonset',
  'k8s/admission-review-job',
  'k8s/admission-review-cronjob',
  'k8s/admission-review-replicationcontroller',
];

describe('AdmissionReview over HTTPS, every kind', () => {
  it.each(KINDS)('%s: allowlisted digests are admitted', async (fixture) => {
    const review = reviewWith(fixture as `k8s/${string}` & FixtureName, {
      containers: [GOOD],
      initContainers: [GOOD_INIT],
    });
    const { status, body } = await post(hook.url('/validate'), review, hook.tls.ca);
    expect(status).toBe(200);
    expect(body).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: review.request.uid, allowed: true },
    });
  });

  it.each(KINDS)('%s: a digest not in the allowlist is denied with 403', async (fixture) => {
    const review = reviewWith(fixture as `k8s/${string}` & FixtureName, {
      containers: [GOOD],
      initContainers: [BAD],
    });
    const { body } = await post(hook.url('/validate/enforce'), review, hook.tls.ca);
    expect(body.response).toMatchObject({
      uid: review.request.uid,
      allowed: false,
      status: { code: 403 },
    });
    expect(body.response.status.message).toMatch(
      /initContainers\[0\].*not in the allowlist .*: run registry-watcher explain /,
    );
  });

  it.each([
    'k8s/admission-review-pod-ephemeralcontainers',
    'k8s/admission-review-ephemeralcontainers-legacy',
  ] as const)('%s: the debug container is checked', async (fixture) => {
    const ok = await post(
      hook.url('/validate'),
      reviewWith(fixture, { ephemeralContainers: [GOOD] }),
      hook.tls.ca,
    );
    expect(ok.body.response.allowed).toBe(true);
    const bad = await post(
      hook.url('/validate'),
      reviewWith(fixture, { ephemeralContainers: [BAD] }),
      hook.tls.ca,
    );
    expect(bad.body.response).toMatchObject({ allowed: false, status: { code: 403 } });
  });

  it('the API server timeout query parameter is ignored', async () => {
    const review = reviewWith('k8s/admission-review-pod', { containers: [GOOD] });
    const { body } = await post(hook.url('/validate?timeout=3s'), review, hook.tls.ca);
    expect(body.response.allowed).toBe(true);
  });
});

describe('modes', () => {
  it('warn mode admits what enforce denies, with short warnings', async () => {
    const review = reviewWith('k8s/admission-review-deployment', {
      containers: [`${API}:1.4.2`],
      initContainers: [BAD],
    });
    const { body } = await post(hook.url('/validate/warn'), review, hook.tls.ca);
    expect(body.response.allowed).toBe(true);
    expect(body.response.warnings).toHaveLength(2);
    for (const warning of body.response.warnings) {
      expect(warning.length).toBeLessThan(120);
      expect(warning).toMatch(/^would be denied: /);
    }
  });

  it('exempt namespaces are admitted', async () => {
    const review = reviewWith('k8s/admission-review-pod', { containers: [BAD] });
    review.request.namespace = 'kube-system';
    const { body } = await post(hook.url('/validate'), review, hook.tls.ca);
    expect(body.response).toEqual({ uid: review.request.uid, allowed: true });
  });

  it('break-glass admits, warns and writes an audit log line', async () => {
    const review = reviewWith('k8s/admission-review-deployment', { containers: [BAD] });
    (review.request.object.metadata as Record<string, unknown>).annotations = {
      'registry-watcher.io/break-glass': 'INC-1234 payment outage',
    };
    const { body } = await post(hook.url('/validate/enforce'), review, hook.tls.ca);
    expect(body.response.allowed).toBe(true);
    expect(body.response.warnings[0]).toContain('break-glass (INC-1234 payment outage)');
    const audit = hook.log.entries.find(
      (e) => e.fields.audit === true && e.fields.uid === review.request.uid,
    );
    expect(audit).toMatchObject({
      level: 'warn',
      message: 'break-glass admission',
      fields: {
        breakGlass: 'INC-1234 payment outage',
        user: 'alice@acme.example',
        namespace: 'payments',
        kind: 'Deployment',
        images: [expect.objectContaining({ image: BAD, reason: 'NOT_ALLOWLISTED' })],
      },
    });
  });
});

describe('malformed requests', () => {
  it('a body that is not JSON gets HTTP 400 and the server keeps serving', async () => {
    const bad = await post(hook.url('/validate'), '{"apiVersion": "admission.k8s', hook.tls.ca);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toContain('not an admission.k8s.io/v1 AdmissionReview');
    const next = await post(
      hook.url('/validate'),
      reviewWith('k8s/admission-review-pod', { containers: [GOOD] }),
      hook.tls.ca,
    );
    expect(next.body.response.allowed).toBe(true);
  });

  it('a body over the size limit gets HTTP 413', async () => {
    const huge = JSON.stringify({ pad: 'x'.repeat(9 * 1024 * 1024) });
    const result = await post(hook.url('/validate'), huge, hook.tls.ca);
    expect(result).toEqual({ status: 413, body: { error: 'body over 8388608 bytes' } });
  });
});

describe('operations endpoints', () => {
  it('/healthz and /readyz answer 200 once an allowlist is loaded', async () => {
    expect(await get(hook.url('/healthz'), hook.tls.ca)).toMatchObject({ status: 200 });
    expect(await get(hook.url('/readyz'), hook.tls.ca)).toMatchObject({ status: 200 });
  });

  it('/metrics speaks the Prometheus text format (read by a strict parser)', async () => {
    const { status, body } = await get(hook.url('/metrics'), hook.tls.ca);
    expect(status).toBe(200);
    const families = parsePrometheusText(body);
    const samples = (name: string) => families.get(name)?.samples ?? [];
    expect(families.get('registrywatcher_admission_reviews_total')?.type).toBe('counter');
    expect(samples('registrywatcher_admission_reviews_total')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          labels: { decision: 'denied', reason: 'NOT_ALLOWLISTED', mode: 'enforce' },
        }),
        expect.objectContaining({
          labels: { decision: 'warned', reason: 'BREAK_GLASS', mode: 'enforce' },
          value: 1,
        }),
      ]),
    );
    expect(samples('registrywatcher_admission_images_total')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: { outcome: 'deny', reason: 'NOT_PINNED' } }),
      ]),
    );
    expect(samples('registrywatcher_allowlist_sequence')[0]?.value).toBe(1);
    expect(
      samples('registrywatcher_allowlist_generated_timestamp_seconds')[0]?.value,
    ).toBeGreaterThan(1.7e9);
    expect(samples('registrywatcher_allowlist_refreshes_total')).toContainEqual({
      name: 'registrywatcher_allowlist_refreshes_total',
      labels: { result: 'updated' },
      value: 1,
    });
    expect(families.get('registrywatcher_admission_duration_seconds')?.type).toBe('histogram');
    expect(samples('registrywatcher_build_info')[0]?.value).toBe(1);
    expect(samples('process_cpu_seconds_total')[0]?.value).toBeGreaterThan(0);
    expect(families.get('nodejs_heap_size_used_bytes')?.type).toBe('gauge');
  });

  it('unknown paths are 404, other methods 405', async () => {
    expect((await get(hook.url('/nope'), hook.tls.ca)).status).toBe(404);
    expect((await post(hook.url('/metrics'), {}, hook.tls.ca)).status).toBe(405);
  });
});

describe('TLS', () => {
  it('serves a new certificate once the files change', async () => {
    const before = await get(hook.url('/healthz'), hook.tls.ca);
    const certFile = join(hook.tls.dir, 'next.crt');
    const keyFile = join(hook.tls.dir, 'next.key');
    hook.tls.reissue(certFile, keyFile, 'rotated');
    expect(await hook.webhook.reloadTls()).toBe(false);
    copyFileSync(keyFile, hook.tls.keyFile);
    copyFileSync(certFile, hook.tls.certFile);
    expect(await hook.webhook.reloadTls()).toBe(true);
    const after = await get(hook.url('/healthz'), hook.tls.ca);
    expect(after.cert).toBeDefined();
    expect(after.cert).not.toBe(before.cert);
    expect(hook.webhook.metrics.tlsReloads.get({ result: 'reloaded' })).toBe(1);
  });

  it('a mismatched pair is not loaded', async () => {
    hook.tls.reissue(join(hook.tls.dir, 'x.crt'), hook.tls.keyFile);
    expect(await hook.webhook.reloadTls()).toBe(false);
    expect(hook.webhook.metrics.tlsReloads.get({ result: 'failed' })).toBe(1);
    expect((await get(hook.url('/healthz'), hook.tls.ca)).status).toBe(200);
  });
});
