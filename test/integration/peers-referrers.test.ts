import { readFileSync } from 'node:fs';
import { FileSigner, generatePrivateKeyPem } from '../../shared/adapters/local/file-signer';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { RegistryClient } from '../../shared/adapters/oci/client';
import { digestTag } from '../../shared/adapters/oci/manifest';
import {
  COSIGN_SIGNATURE_ARTIFACT,
  SIGSTORE_BUNDLE_V03,
} from '../../shared/adapters/oci/media-types';
import { listReferrers } from '../../shared/adapters/oci/referrers';
import { readAttestations, verifyAttestation } from '../../shared/adapters/sigstore/attestations';
import { RegistrySignatureVerifier } from '../../shared/adapters/sigstore/image-signatures';
import { KeyResolver } from '../../shared/adapters/sigstore/trust';
import { RegistryVerdictAttestor } from '../../shared/adapters/sigstore/verdict-attestor';
import { VULN_PREDICATE_TYPE } from '../../shared/domain/attestation';
import type { ImageFacts } from '../../shared/domain/image-facts';
import { settingsFor } from '../../shared/domain/policy';
import { evaluateImage } from '../../shared/services/evaluate-image';
import { completeScan, policyOf } from '../support/builders';
import { MemoryVerdicts } from '../support/memory-verdicts';
import { pushImage } from '../support/oci-images';
import { COSIGN_LOOPBACK, EMPTY_TRUSTED_ROOT, Peers } from '../support/peers';
import { type ReferrersRegistry, startReferrersRegistry } from '../support/referrers-registry';

const PREDICATE = {
  scanner: { uri: 'https://example.com/ci-scanner', version: '1', result: { verdict: 'PASS' } },
  metadata: { scanStartedOn: '2026-12-01T00:00:00Z', scanFinishedOn: '2026-12-01T00:00:00Z' },
};

/**
 * The OCI 1.1 referrers API path: real oras 1.2 and cosign 2.5 push through a registry that
 * answers `OCI-Subject` and `GET /v2/<name>/referrers/<digest>` (test/support/
 * referrers-registry.ts in front of distribution), so they write no tag-schema index; our
 * verifier and attestation reader find what they wrote through the API only.
 */
describe('peers and the OCI 1.1 referrers API', () => {
  let registry: ReferrersRegistry;
  let client: RegistryClient;
  let peers: Peers;
  let verifier: RegistrySignatureVerifier;
  const pems = { alice: '', bob: '' };
  let alice: { key: string; pub: string };
  let count = 0;

  beforeAll(async () => {
    registry = await startReferrersRegistry();
    client = new RegistryClient({ registry: registry.host });
    verifier = new RegistrySignatureVerifier({ clientFor: () => client, keys: new KeyResolver() });
    peers = new Peers();
    const [a, b] = await Promise.all([peers.cosignKeys('alice'), peers.cosignKeys('bob')]);
    alice = a;
    pems.alice = readFileSync(a.pub, 'utf8');
    pems.bob = readFileSync(b.pub, 'utf8');
  });
  afterAll(async () => {
    await registry.stop();
    peers.stop();
  });
  beforeEach(() => {
    registry.api = true;
  });

  const trustOf = (name: keyof typeof pems) =>
    settingsFor(
      policyOf(`repositories:
  - match: "refs/**"
    signatures: { required: true, keys: [{ name: ${name}, publicKey: ${JSON.stringify(pems[name])} }] }
`),
      { registry: registry.host, repository: 'refs/app' },
    ).signatures;

  async function newImage() {
    const repository = `refs/app${++count}`;
    const image = await pushImage(client, repository, { tag: 'v1', content: `ref ${count}` });
    const facts: ImageFacts = {
      key: { registry: registry.host, repository, digest: image.digest },
      tags: ['v1'],
    };
    return { repository, image, facts, ref: `${registry.host}/${repository}@${image.digest}` };
  }

  /** The referrers API queries made since `from`, and the tag-schema index if any was written. */
  const queriesSince = (from: number) => registry.queries.slice(from);
  const tagIndex = (repository: string, digest: string) =>
    client.findManifest(repository, digestTag(digest));

  const cosignSignOci11 = (ref: string) =>
    peers.ok(
      'cosign',
      [
        'sign',
        '--registry-referrers-mode=oci-1-1',
        '--key',
        alice.key,
        '--tlog-upload=false',
        '-y',
        ...COSIGN_LOOPBACK,
        ref,
      ],
      { COSIGN_PASSWORD: '', COSIGN_EXPERIMENTAL: '1' },
    );

  it('oras attach: the registry indexed the subject; we list what oras discover lists', async () => {
    const { repository, image, ref } = await newImage();
    peers.write('sbom.json', '{"spdxVersion":"SPDX-2.3"}');
    await peers.ok('oras', [
      'attach',
      '--plain-http',
      '--artifact-type',
      'application/spdx+json',
      '--annotation',
      'org.example.kind=sbom',
      ref,
      'sbom.json',
    ]);
    expect(registry.subjectsProcessed.length).toBeGreaterThan(0);
    // oras saw OCI-Subject and wrote no tag-schema index
    expect(await tagIndex(repository, image.digest)).toBeUndefined();

    const from = registry.queries.length;
    const ours = await listReferrers(client, repository, image.digest);
    expect(ours.source).toBe('api');
    expect(queriesSince(from)).toEqual([
      { path: `/v2/${repository}/referrers/${image.digest}`, status: 200 },
    ]);
    const discovered = await peers.ok('oras', [
      'discover',
      '--plain-http',
      '--distribution-spec',
      'v1.1-referrers-api',
      '--format',
      'json',
      ref,
    ]);
    const theirs = (JSON.parse(discovered.stdout) as { manifests: Record<string, unknown>[] })
      .manifests;
    expect(ours.descriptors).toEqual(theirs.map(({ reference: _, ...descriptor }) => descriptor));
    expect(ours.descriptors).toEqual([
      expect.objectContaining({
        artifactType: 'application/spdx+json',
        annotations: expect.objectContaining({ 'org.example.kind': 'sbom' }),
      }),
    ]);
  });

  it('cosign sign --registry-referrers-mode=oci-1-1: verified over the API alone, only with the signer key', async () => {
    const { repository, image, facts, ref } = await newImage();
    await cosignSignOci11(ref);
    expect(await client.findManifest(repository, digestTag(image.digest, '.sig'))).toBeUndefined();
    expect(await tagIndex(repository, image.digest)).toBeUndefined();

    const from = registry.queries.length;
    await expect(verifier.verify(facts, trustOf('alice'))).resolves.toEqual({
      status: 'verified',
      format: 'cosign-legacy',
      signer: 'alice',
    });
    expect(queriesSince(from).map((q) => q.status)).toEqual([200]);
    const other = await verifier.verify(facts, trustOf('bob'));
    expect(other.reason).toMatch(/^referrer sha256:[a-f0-9]{64} layer 0: KEY_UNTRUSTED/);
  });

  it('cosign attest --new-bundle-format: read over the API with the artifactType filter applied', async () => {
    const { repository, image, facts, ref } = await newImage();
    await cosignSignOci11(ref);
    await peers.ok(
      'cosign',
      [
        'attest',
        '--new-bundle-format',
        '--key',
        alice.key,
        '--tlog-upload=false',
        '-y',
        '--type',
        'vuln',
        '--predicate',
        peers.write('vuln.json', JSON.stringify(PREDICATE)),
        ...COSIGN_LOOPBACK,
        ref,
      ],
      { COSIGN_PASSWORD: '' },
    );
    expect(await tagIndex(repository, image.digest)).toBeUndefined();
    const from = registry.queries.length;
    const found = await readAttestations(client, facts.key, VULN_PREDICATE_TYPE);
    expect(queriesSince(from)).toEqual([
      expect.objectContaining({ status: 200, filtersApplied: 'artifactType' }),
    ]);
    expect(found.map((a) => [a.format, a.source])).toEqual([
      ['sigstore-bundle', expect.stringMatching(/^referrer sha256:/)],
    ]);
    const [attestation] = found;
    if (!attestation) throw new Error('nothing read');
    const { statement } = verifyAttestation(attestation, image.digest, {
      keys: [{ name: 'alice', publicKeyPem: pems.alice }],
      keyless: [],
    });
    expect(statement).toMatchObject({ predicateType: VULN_PREDICATE_TYPE, predicate: PREDICATE });
    // the signature referrer beside it is still the image's signature
    await expect(verifier.verify(facts, trustOf('alice'))).resolves.toMatchObject({
      status: 'verified',
    });
  });

  it('our attestor over the API: no tag-schema index, the old verdict replaced, cosign verifies it', async () => {
    const watcher = new FileSigner(generatePrivateKeyPem());
    const pub = peers.write('attestation.pub', await watcher.publicKeyPem());
    const root = peers.write('trusted_root.json', EMPTY_TRUSTED_ROOT);
    const { repository, image, facts } = await newImage();
    const now = new Date();
    const world = new MemoryRegistry().put(
      { ...facts, mediaType: image.mediaType },
      completeScan([], new Date(now.getTime() - 3_600_000).toISOString()),
    );
    const options = {
      images: world,
      findings: world,
      store: new MemoryVerdicts(),
      policy: policyOf(),
      attestor: new RegistryVerdictAttestor({ clientFor: () => client, signer: watcher }),
      attestationRefresh: '1h',
    };
    await evaluateImage({ key: facts.key, trigger: 'push' }, { ...options, clock: () => now });
    const first = await listReferrers(client, repository, image.digest, SIGSTORE_BUNDLE_V03);
    // an hour on, the unchanged verdict is attested again and replaces the first
    const later = new Date(now.getTime() + 3_600_000);
    await evaluateImage({ key: facts.key, trigger: 'rescan' }, { ...options, clock: () => later });
    const second = await listReferrers(client, repository, image.digest, SIGSTORE_BUNDLE_V03);
    expect(await tagIndex(repository, image.digest)).toBeUndefined();
    expect(first.source).toBe('api');
    expect(second.descriptors).toHaveLength(1);
    expect(second.descriptors[0]?.digest).not.toBe(first.descriptors[0]?.digest);
    const superseded = first.descriptors[0]?.digest ?? '';
    expect(await client.findManifest(repository, superseded)).toBeUndefined();

    const run = await peers.run('cosign', [
      'verify-attestation',
      '--new-bundle-format',
      '--trusted-root',
      root,
      '--key',
      pub,
      '--insecure-ignore-tlog',
      '--type',
      'vuln',
      ...COSIGN_LOOPBACK,
      `${registry.host}/${repository}@${image.digest}`,
    ]);
    expect(run.stderr).toMatch(/signatures were verified against the specified public key/);
    expect(run.code).toBe(0);
  });

  it('API answers 404: cosign falls back to the tag schema and so do we; switched on, the API lists the old entries', async () => {
    const { repository, image, facts, ref } = await newImage();
    registry.api = false;
    await cosignSignOci11(ref);
    const index = (await tagIndex(repository, image.digest))?.json as {
      manifests: { artifactType?: string }[];
    };
    expect(index.manifests.map((m) => m.artifactType)).toEqual([COSIGN_SIGNATURE_ARTIFACT]);
    // distribution's own 404: no route for referrers
    const direct = await fetch(
      `http://${registry.host}/v2/${repository}/referrers/${image.digest}`,
    );
    await direct.arrayBuffer();
    expect(direct.status).toBe(404);

    const fallback = await listReferrers(client, repository, image.digest);
    expect(fallback.source).toBe('tag-schema');
    await expect(verifier.verify(facts, trustOf('alice'))).resolves.toMatchObject({
      status: 'verified',
      signer: 'alice',
    });

    registry.api = true;
    const listed = await listReferrers(client, repository, image.digest);
    expect(listed.source).toBe('api');
    expect(listed.descriptors.map((d) => d.digest)).toEqual(
      fallback.descriptors.map((d) => d.digest),
    );
    await expect(verifier.verify(facts, trustOf('alice'))).resolves.toMatchObject({
      status: 'verified',
      signer: 'alice',
    });
  });
});

/** The parts of the spec a registry may or must vary: optional filtering, paged answers. */
describe('referrers API answers that vary by registry', () => {
  let registry: ReferrersRegistry;
  let client: RegistryClient;
  let peers: Peers;

  beforeAll(async () => {
    registry = await startReferrersRegistry({ pageSize: 2, filters: false });
    client = new RegistryClient({ registry: registry.host });
    peers = new Peers();
  });
  afterAll(async () => {
    await registry.stop();
    peers.stop();
  });

  it('follows Link pages and filters itself when the registry applied no filter', async () => {
    const repository = 'refs/paged';
    const image = await pushImage(client, repository, { tag: 'v1', content: 'paged' });
    const ref = `${registry.host}/${repository}@${image.digest}`;
    peers.write('note.txt', 'note');
    const types = ['application/vnd.example.a', SIGSTORE_BUNDLE_V03, 'application/vnd.example.b'];
    for (const [i, type] of [
      ...types,
      SIGSTORE_BUNDLE_V03,
      'application/vnd.example.c',
    ].entries()) {
      await peers.ok('oras', [
        'attach',
        '--plain-http',
        '--artifact-type',
        type,
        '--annotation',
        `n=${i}`,
        ref,
        'note.txt',
      ]);
    }
    const from = registry.queries.length;
    const all = await listReferrers(client, repository, image.digest);
    expect(all.descriptors.map((d) => d.annotations?.n)).toEqual(['0', '1', '2', '3', '4']);
    expect(registry.queries.slice(from).map((q) => q.path)).toEqual([
      `/v2/${repository}/referrers/${image.digest}`,
      `/v2/${repository}/referrers/${image.digest}?page=1`,
      `/v2/${repository}/referrers/${image.digest}?page=2`,
    ]);
    const bundles = await listReferrers(client, repository, image.digest, SIGSTORE_BUNDLE_V03);
    expect(registry.queries.at(-1)?.filtersApplied).toBeUndefined();
    expect(bundles.descriptors.map((d) => d.annotations?.n)).toEqual(['1', '3']);

    // absolute links are followed on the registry's own host, refused on another
    registry.linkOrigin = `http://${registry.host}`;
    const absolute = await listReferrers(client, repository, image.digest);
    expect(absolute.descriptors).toEqual(all.descriptors);
    registry.linkOrigin = 'http://127.0.0.2:5000';
    await expect(listReferrers(client, repository, image.digest)).rejects.toMatchObject({
      failure: 'INVALID_RESPONSE',
      message: expect.stringContaining('on another host (127.0.0.2:5000)'),
    });
  });
});
