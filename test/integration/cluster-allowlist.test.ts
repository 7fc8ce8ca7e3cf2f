import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { AllowlistHolder } from '../../cluster/webhook/allowlist-holder';
import { HttpSource, S3Source } from '../../cluster/webhook/sources';
import { S3AllowlistStore } from '../../shared/adapters/aws/s3-allowlist-store';
import { signMessageBundle } from '../../shared/adapters/sigstore/bundles';
import { silentLog } from '../../shared/ports';
import {
  admitted,
  digest,
  ECR,
  get,
  makeTls,
  newSigner,
  post,
  reviewWith,
  type SignedAllowlist,
  signedAllowlist,
  startTestWebhook,
  type TestTls,
} from '../support/cluster';
import { type LocalS3, startS3rver } from '../support/s3rver';

const GOOD = `${ECR}/prod/api@${digest(1)}`;
const DAY = 86_400_000;
const T0 = new Date('2026-11-23T00:00:00Z');

/** An HTTPS server holding allowlist.json (with a strong ETag) and its bundle. */
class AllowlistServer {
  private server: Server | undefined;
  signed: SignedAllowlist | undefined;
  down = false;
  /** Send the bundle as S3 does for our publisher: in x-amz-meta-sigstore-bundle, no sidecar. */
  bundleInHeader = false;
  readonly seen: { path: string; ifNoneMatch?: string; status: number }[] = [];

  constructor(private readonly tls: TestTls) {}

  async start(): Promise<string> {
    this.server = createServer(
      { cert: readFileSync(this.tls.certFile), key: readFileSync(this.tls.keyFile) },
      (req, res) => {
        const ifNoneMatch = req.headers['if-none-match'];
        const reply = (status: number, body = '', headers: Record<string, string> = {}) => {
          this.seen.push({ path: req.url ?? '', status, ...(ifNoneMatch && { ifNoneMatch }) });
          res.writeHead(status, headers).end(body);
        };
        if (this.down || !this.signed) return reply(503);
        const etag = `"${createHash('sha256').update(this.signed.document).digest('hex')}"`;
        if (req.url === '/allowlist.json') {
          if (ifNoneMatch === etag) return reply(304, '', { etag });
          const meta: Record<string, string> = this.bundleInHeader
            ? { 'x-amz-meta-sigstore-bundle': this.signed.bundle.toString('base64') }
            : {};
          return reply(200, this.signed.document.toString(), { etag, ...meta });
        }
        if (req.url === '/allowlist.json.sigstore.json' && !this.bundleInHeader)
          return reply(200, this.signed.bundle.toString());
        reply(404);
      },
    );
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(server.address() as AddressInfo).port}/allowlist.json`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}

describe('allowlist refresh over HTTPS (conditional GET, verify, swap)', () => {
  const tls = makeTls();
  const origin = new AllowlistServer(tls);
  const signer = newSigner();
  let now = new Date(T0.getTime() + 60_000);
  let holder: AllowlistHolder;

  beforeAll(async () => {
    const url = await origin.start();
    holder = new AllowlistHolder({
      source: new HttpSource(url, { ca: tls.ca }),
      publicKeyPem: await signer.publicKeyPem(),
      tags: false,
      clock: () => now,
      log: silentLog,
    });
  });
  afterAll(() => origin.stop());

  const sign = (sequence: number, images = [admitted('prod/api', 1)], validityMs = DAY, at = T0) =>
    signedAllowlist(signer, images, { sequence, now: at, validityMs });

  it('before anything verified, nothing is held', async () => {
    expect(await holder.refresh()).toMatchObject({
      result: 'unreachable',
      message: expect.stringContaining('HTTP 503'),
    });
    expect(holder.current()).toBeUndefined();
  });

  it('loads a verified allowlist', async () => {
    origin.signed = await sign(5);
    expect(await holder.refresh()).toEqual({ result: 'updated', sequence: 5 });
    expect(holder.current()?.allowlist.sequence).toBe(5);
  });

  it('revalidates with If-None-Match and accepts a 304 without a body', async () => {
    const before = origin.seen.length;
    expect(await holder.refresh()).toEqual({ result: 'not-modified' });
    const asked = origin.seen.slice(before);
    expect(asked).toEqual([
      {
        path: '/allowlist.json',
        status: 304,
        ifNoneMatch: expect.stringMatching(/^"[0-9a-f]{64}"$/),
      },
    ]);
  });

  it.each<[string, () => Promise<SignedAllowlist>, string]>([
    [
      'tampered (one byte flipped after signing)',
      async () => {
        const signed = await sign(6, [admitted('prod/api', 1), admitted('prod/api', 2)]);
        const document = Buffer.from(signed.document);
        const at = document.indexOf(digest(2)) + 70;
        document[at] = (document[at] as number) ^ 1;
        return { ...signed, document };
      },
      'DIGEST_MISMATCH',
    ],
    [
      'signed with another key',
      () => signedAllowlist(newSigner(), [admitted('prod/api', 9)], { sequence: 7, now: T0 }),
      'SIGNATURE_INVALID',
    ],
    [
      'rolled back (a lower sequence, validly signed)',
      () => sign(4, [admitted('prod/api', 9)]),
      'ROLLED_BACK',
    ],
    [
      'paired with something that is not a sigstore bundle',
      async () => ({ ...(await sign(8)), bundle: Buffer.from('{"mediaType":"x"}') }),
      'SIGNATURE_INVALID',
    ],
    [
      'not JSON, though validly signed',
      async () => {
        const document = Buffer.from('not json');
        return {
          document,
          bundle: Buffer.from(JSON.stringify(await signMessageBundle(document, signer))),
        };
      },
      'MALFORMED',
    ],
  ])('rejects an allowlist: %s; the last good one stays', async (_, make, reason) => {
    origin.signed = await make();
    expect(await holder.refresh()).toMatchObject({ result: 'rejected', reason });
    expect(holder.current()?.allowlist.sequence).toBe(5);
    expect(Object.keys(holder.current()?.allowlist.images[`${ECR}/prod/api`] ?? {})).toEqual([
      digest(1),
    ]);
  });

  it('fails static while the source is unreachable', async () => {
    origin.down = true;
    expect(await holder.refresh()).toMatchObject({ result: 'unreachable' });
    expect(holder.current()?.allowlist.sequence).toBe(5);
    origin.down = false;
  });

  it('a forged document that is also expired is rejected as forged, not held as stale', async () => {
    origin.signed = await signedAllowlist(newSigner(), [admitted('prod/api', 9)], {
      sequence: 50,
      now: new Date(T0.getTime() - 3 * DAY),
    });
    expect(await holder.refresh()).toMatchObject({
      result: 'rejected',
      reason: 'SIGNATURE_INVALID',
    });
  });

  it('an expired but authentic newer document does not replace a fresh one', async () => {
    origin.signed = await sign(9, [admitted('prod/api', 9)], DAY, new Date(T0.getTime() - 2 * DAY));
    expect(await holder.refresh()).toEqual({ result: 'stale', sequence: 9, held: false });
    expect(holder.current()?.allowlist.sequence).toBe(5);
  });

  it('past validUntil, an expired authentic document replaces the held expired one', async () => {
    now = new Date(T0.getTime() + 2 * DAY);
    expect(await holder.refresh()).toEqual({ result: 'stale', sequence: 9, held: true });
    expect(holder.current()?.allowlist.sequence).toBe(9);
  });

  it('a fresh newer document replaces a stale one', async () => {
    origin.signed = await sign(10, [admitted('prod/api', 1)], DAY, now);
    expect(await holder.refresh()).toEqual({ result: 'updated', sequence: 10 });
  });

  it('takes the bundle from x-amz-meta-sigstore-bundle when the response carries it', async () => {
    origin.signed = await sign(11, [admitted('prod/api', 1)], DAY, now);
    origin.bundleInHeader = true;
    const before = origin.seen.length;
    expect(await holder.refresh()).toEqual({ result: 'updated', sequence: 11 });
    expect(origin.seen.slice(before).map((s) => s.path)).toEqual(['/allowlist.json']);
  });
});

describe('allowlist from S3 (s3rver): GetObject with IfNoneMatch', () => {
  let s3: LocalS3;
  const signer = newSigner();

  beforeAll(async () => {
    s3 = await startS3rver('cluster-allowlists');
  });
  afterAll(() => s3.stop());

  const put = async (signed: SignedAllowlist) => {
    await s3.client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: 'prod/allowlist.json',
        Body: signed.document,
      }),
    );
    await s3.client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: 'prod/allowlist.json.sigstore.json',
        Body: signed.bundle,
      }),
    );
  };

  it('reads what the publisher writes, bundle from the object metadata, so no sidecar race', async () => {
    const store = new S3AllowlistStore({
      bucket: s3.bucket,
      prefix: 'published/',
      client: s3.client,
    });
    const publication = async (sequence: number, n: number) => {
      const signed = await signedAllowlist(signer, [admitted('prod/api', n)], { sequence });
      return {
        document: signed.document,
        bundle: JSON.parse(signed.bundle.toString()),
        publicKeyPem: await signer.publicKeyPem(),
        sequence,
      };
    };
    const first = await store.publish(await publication(1, 1), undefined);
    const holder = new AllowlistHolder({
      source: new S3Source(`s3://${s3.bucket}/published/allowlist.json`, { s3: s3.client }),
      publicKeyPem: await signer.publicKeyPem(),
      tags: false,
    });
    expect(await holder.refresh()).toEqual({ result: 'updated', sequence: 1 });
    await store.publish(await publication(2, 2), { etag: first.etag });
    // a reader between the publisher's two writes: the sidecar still holds the old bundle
    await s3.client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: 'published/allowlist.json.sigstore.json',
        Body: (await publication(1, 1)).document,
      }),
    );
    expect(await holder.refresh()).toEqual({ result: 'updated', sequence: 2 });
  });

  it('loads, answers 304 while unchanged, and picks up the next sequence', async () => {
    const holder = new AllowlistHolder({
      source: new S3Source(`s3://${s3.bucket}/prod/allowlist.json`, { s3: s3.client }),
      publicKeyPem: await signer.publicKeyPem(),
      tags: true,
    });
    expect(await holder.refresh()).toMatchObject({
      result: 'unreachable',
      message: expect.stringContaining('NoSuchKey'),
    });
    await put(
      await signedAllowlist(signer, [admitted('prod/api', 1, { tags: ['v1'] })], { sequence: 1 }),
    );
    expect(await holder.refresh()).toEqual({ result: 'updated', sequence: 1 });
    expect(await holder.refresh()).toEqual({ result: 'not-modified' });
    await put(
      await signedAllowlist(signer, [admitted('prod/api', 2, { tags: ['v1'] })], { sequence: 2 }),
    );
    expect(await holder.refresh()).toEqual({ result: 'updated', sequence: 2 });
    expect(holder.current()?.tags.get(`${ECR}/prod/api`)?.get('v1')).toBe(digest(2));
  });
});

describe('failure modes at the webhook', () => {
  it.each([
    ['closed', false],
    ['open', true],
  ] as const)('past validUntil with failureMode %s', async (failureMode, allowed) => {
    let now = new Date(T0.getTime() + 60_000);
    const signer = newSigner();
    const hook = await startTestWebhook(
      await signedAllowlist(signer, [admitted('prod/api', 1)], {
        sequence: 3,
        now: T0,
        validityMs: DAY,
      }),
      { allowlist: { failureMode } },
      { signer, clock: () => now },
    );
    try {
      const review = () => reviewWith('k8s/admission-review-pod', { containers: [GOOD] });
      expect((await post(hook.url('/validate'), review(), hook.tls.ca)).body.response.allowed).toBe(
        true,
      );
      now = new Date(T0.getTime() + DAY + 1);
      const { body } = await post(hook.url('/validate'), review(), hook.tls.ca);
      expect(body.response.allowed).toBe(allowed);
      const text = allowed ? body.response.warnings[0] : body.response.status.message;
      expect(text).toContain('allowlist expired');
      expect((await get(hook.url('/readyz'), hook.tls.ca)).status).toBe(200);
      const metrics = (await get(hook.url('/metrics'), hook.tls.ca)).body;
      expect(metrics).toContain('registrywatcher_allowlist_expired 1\n');
      expect(metrics).toMatch(
        new RegExp(
          `registrywatcher_admission_reviews_total\\{decision="${allowed ? 'warned' : 'denied'}",reason="ALLOWLIST_EXPIRED",mode="enforce"\\} 1`,
        ),
      );
    } finally {
      await hook.close();
    }
  });

  it('without any verified allowlist: not ready, and requests get failureMode (closed)', async () => {
    const signer = newSigner();
    const forged = await signedAllowlist(newSigner(), [admitted('prod/api', 1)]);
    const hook = await startTestWebhook(forged, {}, { signer });
    try {
      expect(await get(hook.url('/readyz'), hook.tls.ca)).toMatchObject({ status: 503 });
      const { body } = await post(
        hook.url('/validate'),
        reviewWith('k8s/admission-review-pod', { containers: [GOOD] }),
        hook.tls.ca,
      );
      expect(body.response).toMatchObject({
        allowed: false,
        status: { message: expect.stringContaining('no verified allowlist') },
      });
      const metrics = (await get(hook.url('/metrics'), hook.tls.ca)).body;
      expect(metrics).toContain(
        'registrywatcher_allowlist_refresh_failures_total{reason="SIGNATURE_INVALID"} 1',
      );
      hook.publish(await signedAllowlist(signer, [admitted('prod/api', 1)]));
      await hook.refresh();
      expect(await get(hook.url('/readyz'), hook.tls.ca)).toMatchObject({ status: 200 });
    } finally {
      await hook.close();
    }
  });

  it('starting with only a stale authentic allowlist: held, ready, failureMode decides', async () => {
    const signer = newSigner();
    const stale = await signedAllowlist(signer, [admitted('prod/api', 1)], {
      now: new Date(Date.now() - 2 * DAY),
      validityMs: DAY,
    });
    const hook = await startTestWebhook(stale, { allowlist: { failureMode: 'open' } }, { signer });
    try {
      expect(hook.webhook.holder.current()?.allowlist.sequence).toBe(1);
      expect((await get(hook.url('/readyz'), hook.tls.ca)).status).toBe(200);
      const { body } = await post(
        hook.url('/validate'),
        reviewWith('k8s/admission-review-pod', { containers: [GOOD] }),
        hook.tls.ca,
      );
      expect(body.response).toMatchObject({
        allowed: true,
        warnings: [expect.stringContaining('allowlist expired')],
      });
    } finally {
      await hook.close();
    }
  });
});
