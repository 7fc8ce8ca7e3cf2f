import { readFileSync } from 'node:fs';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { RegistryClient } from '../../shared/adapters/oci/client';
import { digestTag, manifestBytes, parseImageManifest } from '../../shared/adapters/oci/manifest';
import { RegistrySignatureVerifier } from '../../shared/adapters/sigstore/image-signatures';
import { KeyResolver } from '../../shared/adapters/sigstore/trust';
import type { ImageFacts } from '../../shared/domain/image-facts';
import { settingsFor } from '../../shared/domain/policy';
import { evaluateImage } from '../../shared/services/evaluate-image';
import { completeScan, policyOf } from '../support/builders';
import { MemoryVerdicts } from '../support/memory-verdicts';
import { type ImageFormat, pushImage } from '../support/oci-images';
import { COSIGN_LOOPBACK, Peers } from '../support/peers';
import { type LocalRegistry, startRegistry } from '../support/registry';

/** Real cosign 2.5 and skopeo 1.18 sign images on the registry; our verifier judges them. */
describe('peers sign, we verify: cosign and skopeo .sig signatures', () => {
  let registry: LocalRegistry;
  let client: RegistryClient;
  let peers: Peers;
  let verifier: RegistrySignatureVerifier;
  const keys: Record<'alice' | 'bob' | 'skopeo', string> = { alice: '', bob: '', skopeo: '' };
  let aliceKey: string;
  let bobKey: string;
  let skopeo: { key: string; passphrase: string };
  let count = 0;

  beforeAll(async () => {
    registry = await startRegistry();
    client = new RegistryClient({ registry: registry.host });
    verifier = new RegistrySignatureVerifier({ clientFor: () => client, keys: new KeyResolver() });
    peers = new Peers();
    const [alice, bob, sk] = await Promise.all([
      peers.cosignKeys('alice'),
      peers.cosignKeys('bob'),
      peers.skopeoKeys('skopeo'),
    ]);
    aliceKey = alice.key;
    bobKey = bob.key;
    skopeo = sk;
    keys.alice = readFileSync(alice.pub, 'utf8');
    keys.bob = readFileSync(bob.pub, 'utf8');
    keys.skopeo = readFileSync(sk.pub, 'utf8');
  });
  afterAll(async () => {
    await registry.stop();
    peers.stop();
  });

  /** The trust a policy naming these keys gives the repository, as the evaluate path reads it. */
  function trustOf(...names: (keyof typeof keys)[]) {
    const list = names.map((n) => `{ name: ${n}, publicKey: ${JSON.stringify(keys[n])} }`);
    const policy = policyOf(`repositories:
  - match: "peers/**"
    signatures: { required: true, keys: [${list.join(', ')}] }
`);
    return {
      policy,
      trust: settingsFor(policy, { registry: registry.host, repository: 'peers/app' }).signatures,
    };
  }

  async function newImage(format: ImageFormat = 'oci') {
    const repository = `peers/app${++count}`;
    const image = await pushImage(client, repository, {
      format,
      tag: 'v1',
      content: `peer image ${count}`,
    });
    const facts: ImageFacts = {
      key: { registry: registry.host, repository, digest: image.digest },
      tags: ['v1'],
    };
    return { repository, image, facts, ref: `${registry.host}/${repository}@${image.digest}` };
  }

  const cosignSign = (key: string, ref: string) =>
    peers.ok(
      'cosign',
      ['sign', '--key', key, '--tlog-upload=false', '-y', ...COSIGN_LOOPBACK, ref],
      {
        COSIGN_PASSWORD: '',
      },
    );

  const skopeoSign = (repository: string) => {
    const ref = `docker://${registry.host}/${repository}:v1`;
    return peers.ok('skopeo', [
      ...peers.skopeoConfig(registry.host),
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--preserve-digests',
      '--sign-by-sigstore-private-key',
      skopeo.key,
      '--sign-passphrase-file',
      skopeo.passphrase,
      ref,
      ref,
    ]);
  };

  async function sigLayers(repository: string, digest: string) {
    const manifest = parseImageManifest(
      (await client.getManifest(repository, digestTag(digest, '.sig'))).json,
    );
    return manifest?.layers ?? [];
  }

  it.each<ImageFormat>(['oci', 'docker'])(
    'verifies `cosign sign --key` of a %s image, and only with that key',
    async (format) => {
      const { repository, image, facts, ref } = await newImage(format);
      expect(image.mediaType).toMatch(format === 'oci' ? /oci/ : /docker/);
      await cosignSign(aliceKey, ref);
      expect(await sigLayers(repository, image.digest)).toHaveLength(1);

      await expect(verifier.verify(facts, trustOf('alice').trust)).resolves.toEqual({
        status: 'verified',
        format: 'cosign-legacy',
        signer: 'alice',
      });
      const other = await verifier.verify(facts, trustOf('bob').trust);
      expect(other).toMatchObject({ status: 'invalid', format: 'cosign-legacy' });
      expect(other.reason).toMatch(/KEY_UNTRUSTED/);
    },
  );

  it('two cosign signers: one .sig layer each, either key verifies, neither is reported per layer', async () => {
    const { repository, image, facts, ref } = await newImage();
    await cosignSign(aliceKey, ref);
    await cosignSign(bobKey, ref);
    expect(await sigLayers(repository, image.digest)).toHaveLength(2);

    await expect(verifier.verify(facts, trustOf('bob').trust)).resolves.toMatchObject({
      status: 'verified',
      signer: 'bob',
    });
    await expect(verifier.verify(facts, trustOf('alice').trust)).resolves.toMatchObject({
      status: 'verified',
      signer: 'alice',
    });
    const neither = await verifier.verify(facts, trustOf('skopeo').trust);
    expect(neither.status).toBe('invalid');
    expect(neither.reason?.match(/KEY_UNTRUSTED/g)).toHaveLength(2);
  });

  it.each<ImageFormat>(['oci', 'docker'])(
    'verifies skopeo --sign-by-sigstore-private-key on a %s image',
    async (format) => {
      const { repository, image, facts } = await newImage(format);
      await skopeoSign(repository);
      // skopeo --preserve-digests copied onto itself: same manifest, one signature layer
      expect((await client.getManifest(repository, 'v1')).digest).toBe(image.digest);
      expect(await sigLayers(repository, image.digest)).toHaveLength(1);
      await expect(verifier.verify(facts, trustOf('skopeo').trust)).resolves.toEqual({
        status: 'verified',
        format: 'cosign-legacy',
        signer: 'skopeo',
      });
      await expect(verifier.verify(facts, trustOf('alice').trust)).resolves.toMatchObject({
        status: 'invalid',
      });
    },
  );

  it('cosign and skopeo sign one image: both signatures stand side by side', async () => {
    const { repository, image, facts, ref } = await newImage();
    await cosignSign(aliceKey, ref);
    await skopeoSign(repository);
    expect(await sigLayers(repository, image.digest)).toHaveLength(2);
    for (const name of ['alice', 'skopeo'] as const) {
      await expect(verifier.verify(facts, trustOf(name).trust)).resolves.toMatchObject({
        status: 'verified',
        signer: name,
      });
    }
    // and cosign itself accepts skopeo's signature
    const pub = peers.write('skopeo-check.pub', keys.skopeo);
    await peers.ok('cosign', [
      'verify',
      '--key',
      pub,
      '--insecure-ignore-tlog',
      ...COSIGN_LOOPBACK,
      ref,
    ]);
  });

  it('rejects tampered copies of cosign signatures: payload changed, or moved to another image', async () => {
    const signed = await newImage();
    await cosignSign(aliceKey, signed.ref);
    const [layer] = await sigLayers(signed.repository, signed.image.digest);
    if (!layer) throw new Error('cosign wrote no signature layer');
    const payload = await client.getBlob(signed.repository, layer.digest);
    const sig = digestTag(signed.image.digest, '.sig');
    const original = (await client.getManifest(signed.repository, sig)).json;

    // the payload changed after signing (cosign's signature annotation kept)
    const changed = Buffer.from(
      payload.toString().replace('"optional":null', '"optional":{"approved":"yes"}'),
    );
    expect(changed.equals(payload)).toBe(false);
    const pushed = await client.pushBlob(signed.repository, changed, layer.mediaType);
    const manifest = parseImageManifest(original);
    if (!manifest) throw new Error('unreadable .sig manifest');
    await client.putManifest(
      signed.repository,
      sig,
      manifestBytes({ ...manifest, layers: [{ ...layer, ...pushed }] }),
    );
    // cosign writes no key hint: the .sig config's diff_id (the sha256 cosign signed) tells
    // a changed payload from a wrong key
    const changedRead = await verifier.verify(signed.facts, trustOf('alice').trust);
    expect(changedRead).toMatchObject({ status: 'invalid', format: 'cosign-legacy' });
    expect(changedRead.reason).toBe(
      `${sig} layer 0: SIGNATURE_INVALID: the payload was changed after signing: alice signed ${layer.digest} (recorded in the .sig config), the layer now holds ${pushed.digest}`,
    );
    const otherKey = await verifier.verify(signed.facts, trustOf('bob').trust);
    expect(otherKey.reason).toMatch(/^sha256-[a-f0-9]{64}\.sig layer 0: KEY_UNTRUSTED: /);

    // cosign's untouched signature of another image, put beside ours
    const other = await newImage();
    for (const digest of [layer.digest, manifest.config.digest]) {
      const blob = await client.getBlob(signed.repository, digest);
      await client.pushBlob(other.repository, blob, 'application/octet-stream');
    }
    await client.putManifest(
      other.repository,
      digestTag(other.image.digest, '.sig'),
      manifestBytes(manifest),
    );
    const moved = await verifier.verify(other.facts, trustOf('alice').trust);
    expect(moved).toMatchObject({ status: 'invalid' });
    expect(moved.reason).toMatch(/DIGEST_MISMATCH/);
  });

  it("a skopeo signature whose payload changed reads SIGNATURE_INVALID too (skopeo's .sig config records the digest as cosign's does)", async () => {
    const { repository, image, facts } = await newImage('docker');
    await skopeoSign(repository);
    const sig = digestTag(image.digest, '.sig');
    const manifest = parseImageManifest((await client.getManifest(repository, sig)).json);
    const [layer] = manifest?.layers ?? [];
    if (!manifest || !layer) throw new Error('skopeo wrote no signature layer');
    const payload = (await client.getBlob(repository, layer.digest)).toString();
    const changed = Buffer.from(payload.replace('"optional":{', '"optional":{"approved":"yes",'));
    expect(changed.toString()).not.toBe(payload);
    const pushed = await client.pushBlob(repository, changed, layer.mediaType);
    await client.putManifest(
      repository,
      sig,
      manifestBytes({ ...manifest, layers: [{ ...layer, ...pushed }] }),
    );
    const read = await verifier.verify(facts, trustOf('alice', 'skopeo').trust);
    expect(read.reason).toBe(
      `${sig} layer 0: SIGNATURE_INVALID: the payload was changed after signing: skopeo signed ${layer.digest} (recorded in the .sig config), the layer now holds ${pushed.digest}`,
    );
  });

  it('verifies `cosign sign --registry-referrers-mode=oci-1-1`: the .sig layer stored as a referrer (tag schema on distribution 2.8)', async () => {
    const { repository, image, facts, ref } = await newImage();
    await peers.ok(
      'cosign',
      [
        'sign',
        '--registry-referrers-mode=oci-1-1',
        '--key',
        aliceKey,
        '--tlog-upload=false',
        '-y',
        ...COSIGN_LOOPBACK,
        ref,
      ],
      { COSIGN_PASSWORD: '', COSIGN_EXPERIMENTAL: '1' },
    );
    // no .sig tag: only the referrers tag-schema index lists the signature
    expect(await client.findManifest(repository, digestTag(image.digest, '.sig'))).toBeUndefined();
    const index = (await client.getManifest(repository, digestTag(image.digest))).json as {
      manifests: { artifactType?: string }[];
    };
    expect(index.manifests.map((m) => m.artifactType)).toEqual([
      'application/vnd.dev.cosign.artifact.sig.v1+json',
    ]);
    await expect(verifier.verify(facts, trustOf('alice').trust)).resolves.toEqual({
      status: 'verified',
      format: 'cosign-legacy',
      signer: 'alice',
    });
    const other = await verifier.verify(facts, trustOf('bob').trust);
    expect(other.reason).toMatch(/^referrer sha256:[a-f0-9]{64} layer 0: KEY_UNTRUSTED/);
  });

  it('evaluate path: signatures.required with a cosign key admits the signed image only', async () => {
    const signed = await newImage('docker');
    const unsigned = await newImage('docker');
    await cosignSign(bobKey, signed.ref);
    const { policy } = trustOf('bob');
    const world = new MemoryRegistry();
    // Judged at the test's own instant, on a scan an hour older: fresh on any date.
    const now = new Date();
    const scannedAt = new Date(now.getTime() - 3_600_000).toISOString();
    for (const { facts } of [signed, unsigned]) world.put(facts, completeScan([], scannedAt));
    const options = {
      images: world,
      findings: world,
      store: new MemoryVerdicts(),
      policy,
      signatures: verifier,
      clock: () => now,
    };
    const admitted = await evaluateImage({ key: signed.facts.key, trigger: 'push' }, options);
    expect(admitted.record).toMatchObject({
      verdict: 'PASS',
      signature: { status: 'verified', signer: 'bob', format: 'cosign-legacy' },
    });
    const denied = await evaluateImage({ key: unsigned.facts.key, trigger: 'push' }, options);
    expect(denied.record).toMatchObject({ verdict: 'FAIL', signature: { status: 'unsigned' } });
  });
});
