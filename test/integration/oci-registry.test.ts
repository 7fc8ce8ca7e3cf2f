import { randomBytes, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { basicAuth } from '../../shared/adapters/oci/auth';
import { RegistryClient } from '../../shared/adapters/oci/client';
import { isRegistryError, RegistryError } from '../../shared/adapters/oci/errors';
import {
  descriptorOf,
  EMPTY_CONFIG,
  manifestBytes,
  parseIndex,
} from '../../shared/adapters/oci/manifest';
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_EMPTY_BLOB,
  OCI_INDEX,
  OCI_MANIFEST,
} from '../../shared/adapters/oci/media-types';
import { attachReferrer, listReferrers } from '../../shared/adapters/oci/referrers';
import { pushImage, pushIndex } from '../support/oci-images';
import { type LocalRegistry, registryNow, startRegistry } from '../support/registry';
import { selfSignedCertificate } from '../support/self-signed';

const noRetry = { attempts: 1 };

describe('OCI distribution client against docker-registry (no auth)', () => {
  let registry: LocalRegistry;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await startRegistry();
    client = new RegistryClient({ registry: registry.host, chunkSize: 4096 });
  });
  afterAll(() => registry.stop());

  it.each([
    ['oci', OCI_MANIFEST],
    ['docker', DOCKER_MANIFEST],
  ] as const)('pushes and reads back a %s image manifest', async (format, mediaType) => {
    const image = await pushImage(client, `app/${format}`, { format, tag: '1.0' });
    const byTag = await client.getManifest(`app/${format}`, '1.0');
    expect(byTag).toMatchObject({ digest: image.digest, mediaType });
    const byDigest = await client.getManifest(`app/${format}`, image.digest);
    expect(byDigest.bytes.equals(image.bytes)).toBe(true);
    const layer = (byDigest.json as { layers: { digest: string }[] }).layers[0];
    const blob = await client.getBlob(`app/${format}`, layer?.digest ?? '');
    expect(gunzipSync(blob).subarray(0, 9).toString()).toBe('hello.txt');
  });

  it.each([
    ['oci', OCI_INDEX],
    ['docker', DOCKER_MANIFEST_LIST],
  ] as const)('pushes a two-platform %s index', async (format, mediaType) => {
    const index = await pushIndex(client, `multi/${format}`, { format, tag: 'latest' });
    const read = await client.getManifest(`multi/${format}`, 'latest');
    expect(read.mediaType).toBe(mediaType);
    expect(parseIndex(read.json)?.manifests.map((m) => m.platform?.architecture)).toEqual([
      'amd64',
      'arm64',
    ]);
    expect(read.digest).toBe(index.digest);
  });

  it('uploads large blobs in chunks and skips blobs the registry has', async () => {
    const data = randomBytes(4096 * 3 + 17);
    const pushed = await client.pushBlob('chunks/app', data, 'application/octet-stream');
    expect((await client.getBlob('chunks/app', pushed.digest)).equals(data)).toBe(true);
    expect(await client.hasBlob('chunks/app', pushed.digest)).toBe(true);
    await expect(client.pushBlob('chunks/app', data, 'application/octet-stream')).resolves.toEqual(
      pushed,
    );
  });

  it('lists tags across pages (Link header)', async () => {
    for (const tag of ['a', 'b', 'c', 'd', 'e']) await pushImage(client, 'tags/app', { tag });
    expect((await client.listTags('tags/app', 2)).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('maps 404 to NOT_FOUND with the registry error code', async () => {
    const error = await client.getManifest('app/oci', 'missing').catch((e: unknown) => e);
    expect(isRegistryError(error, 'NOT_FOUND')).toBe(true);
    expect((error as RegistryError).code).toBe('IMAGE_NOT_FOUND');
    expect((error as Error).message).toMatch(/MANIFEST_UNKNOWN/);
    expect(await client.findManifest('app/oci', 'missing')).toBeUndefined();
  });

  it('refuses manifests without a top-level mediaType or with ";" in it', async () => {
    const bare = manifestBytes({ schemaVersion: 2, config: EMPTY_CONFIG, layers: [] });
    await expect(client.putManifest('app/oci', 'bad', bare)).rejects.toThrow(/top-level mediaType/);
    const withParam = manifestBytes({
      schemaVersion: 2,
      mediaType: `${OCI_MANIFEST};v=1`,
      config: EMPTY_CONFIG,
      layers: [],
    });
    await expect(client.putManifest('app/oci', 'bad', withParam)).rejects.toThrow(/ECR rejects/);
  });

  it('falls back to the referrers tag schema (distribution 2.8 has no referrers API)', async () => {
    const repo = 'refs/app';
    const image = await pushImage(client, repo, { tag: 'v1' });
    await client.pushBlob(repo, OCI_EMPTY_BLOB, EMPTY_CONFIG.mediaType);
    const subject = { mediaType: image.mediaType, digest: image.digest, size: image.size };
    const artifact = async (type: string, note: string) => {
      const blob = await client.pushBlob(repo, Buffer.from(note), 'text/plain');
      return attachReferrer(
        client,
        repo,
        {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: type,
          config: EMPTY_CONFIG,
          layers: [blob],
          subject,
          annotations: { 'test.kind': type, 'test.note': note },
        },
        { replaces: (d) => d.annotations?.['test.kind'] === 'verdict' },
      );
    };
    const sbom = await artifact('application/spdx+json', 'sbom');
    const first = await artifact('verdict', 'one');
    const second = await artifact('verdict', 'two');

    const all = await listReferrers(client, repo, image.digest);
    expect(all.source).toBe('tag-schema');
    expect(all.descriptors.map((d) => d.digest).sort()).toEqual(
      [sbom.digest, second.digest].sort(),
    );
    expect(all.descriptors.find((d) => d.digest === second.digest)?.annotations).toEqual({
      'test.kind': 'verdict',
      'test.note': 'two',
    });
    const verdicts = await listReferrers(client, repo, image.digest, 'verdict');
    expect(verdicts.descriptors).toHaveLength(1);
    // the superseded referrer manifest was deleted, not just unlisted
    expect(await client.findManifest(repo, first.digest)).toBeUndefined();
    expect(
      descriptorOf(OCI_MANIFEST, (await client.getManifest(repo, second.digest)).bytes).digest,
    ).toBe(second.digest);
  });
});

describe('OCI client auth', () => {
  it('htpasswd basic auth: anonymous and wrong password rejected, right password works', async () => {
    const registry = await startRegistry({ users: [{ username: 'ci', password: 's3cret' }] });
    try {
      const anonymousClient = new RegistryClient({ registry: registry.host, retry: noRetry });
      await expect(pushImage(anonymousClient, 'private/app')).rejects.toMatchObject({
        failure: 'UNAUTHORIZED',
        message: expect.stringMatching(/no credentials configured/),
      });
      const wrong = new RegistryClient({
        registry: registry.host,
        auth: basicAuth('ci', 'nope'),
        retry: noRetry,
      });
      await expect(wrong.listTags('private/app')).rejects.toThrow(/credentials rejected/);
      const right = new RegistryClient({
        registry: registry.host,
        auth: basicAuth('ci', 's3cret'),
      });
      const image = await pushImage(right, 'private/app', { tag: 'v1' });
      expect((await right.getManifest('private/app', 'v1')).digest).toBe(image.digest);
    } finally {
      await registry.stop();
    }
  });

  it('bearer token flow: realm, service and scope from the challenge, token cached per scope', async () => {
    // The registry checks token and certificate times by its own (real) clock.
    const registryClockOffsetMs = (await registryNow()).getTime() - Date.now();
    const registryTime = () => new Date(Date.now() + registryClockOffsetMs);
    const { certPem, key } = await selfSignedCertificate(
      'registry-watcher test token issuer',
      registryTime(),
    );
    const certDer = Buffer.from(certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString(
      'base64',
    );
    const requests: URL[] = [];
    const tokenServer: Server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      requests.push(url);
      if (req.headers.authorization !== `Basic ${Buffer.from('ci:s3cret').toString('base64')}`) {
        res.writeHead(401).end();
        return;
      }
      const access = url.searchParams.getAll('scope').map((scope) => {
        const [type, name, actions] = scope.split(':');
        return { type, name, actions: (actions ?? '').split(',') };
      });
      const now = Math.floor(registryTime().getTime() / 1000);
      const enc = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const input = `${enc({ alg: 'ES256', typ: 'JWT', x5c: [certDer] })}.${enc({
        iss: 'test-issuer',
        sub: 'ci',
        aud: url.searchParams.get('service'),
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access,
      })}`;
      const signature = sign('sha256', Buffer.from(input), {
        key,
        dsaEncoding: 'ieee-p1363',
      }).toString('base64url');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: `${input}.${signature}`, expires_in: 300 }));
    });
    await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve));
    const realm = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;
    const registry = await startRegistry({
      token: { realm, service: 'test-registry', issuer: 'test-issuer', rootCertPem: certPem },
    });
    try {
      const client = new RegistryClient({
        registry: registry.host,
        auth: basicAuth('ci', 's3cret'),
      });
      const image = await pushImage(client, 'bearer/app', { tag: 'v1' });
      expect((await client.getManifest('bearer/app', image.digest)).digest).toBe(image.digest);
      expect(requests[0]?.searchParams.get('service')).toBe('test-registry');
      expect(requests.flatMap((u) => u.searchParams.getAll('scope'))).toContain(
        'repository:bearer/app:pull,push',
      );
      const fetched = requests.length;
      await client.getManifest('bearer/app', 'v1');
      expect(requests.length).toBe(fetched); // token reused for the same scope
      const stranger = new RegistryClient({
        registry: registry.host,
        auth: basicAuth('ci', 'wrong'),
        retry: noRetry,
      });
      await expect(stranger.listTags('bearer/app')).rejects.toThrow(/token server refused/);
    } finally {
      await registry.stop();
      await new Promise((resolve) => tokenServer.close(resolve));
    }
  });
});

describe('OCI client retries', () => {
  it('retries 429 and 503 with backoff, then gives up with a clear error', async () => {
    const statuses = [429, 503, 200];
    let calls = 0;
    const server = createServer((_req, res) => {
      const status = statuses[calls++] ?? 503;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        status === 200
          ? JSON.stringify({ name: 'x', tags: ['v1'] })
          : '{"errors":[{"code":"TOOMANYREQUESTS"}]}',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = new RegistryClient({
        registry: host,
        retry: { baseDelayMs: 1, sleep: async () => {} },
      });
      await expect(client.listTags('x')).resolves.toEqual(['v1']);
      expect(calls).toBe(3);
      calls = 10; // 503 from now on
      const error = await client.listTags('x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryError);
      expect(error).toMatchObject({
        failure: 'UNAVAILABLE',
        code: 'UPSTREAM_FAILURE',
        status: 503,
      });
      expect(calls).toBe(14);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
