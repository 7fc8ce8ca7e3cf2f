import type { SerializedBundle } from '@sigstore/bundle';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { FileSigner, generatePrivateKeyPem } from '../../shared/adapters/local/file-signer';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { RegistryClient } from '../../shared/adapters/oci/client';
import {
  digestTag,
  EMPTY_CONFIG,
  manifestBytes,
  parseImageManifest,
} from '../../shared/adapters/oci/manifest';
import {
  DSSE_ENVELOPE,
  OCI_CONFIG,
  OCI_EMPTY_BLOB,
  OCI_MANIFEST,
  SIGSTORE_BUNDLE_V03,
} from '../../shared/adapters/oci/media-types';
import { attachReferrer, listReferrers } from '../../shared/adapters/oci/referrers';
import {
  attachAttestation,
  readAttestations,
  verifyAttestation,
} from '../../shared/adapters/sigstore/attestations';
import { keyHint, signDsseBundle } from '../../shared/adapters/sigstore/bundles';
import { RegistryVerdictAttestor } from '../../shared/adapters/sigstore/verdict-attestor';
import {
  IN_TOTO_PAYLOAD_TYPE,
  VULN_PREDICATE_TYPE,
  type VulnPredicate,
} from '../../shared/domain/attestation';
import type { ImageKey } from '../../shared/domain/image-ref';
import { evaluateImage } from '../../shared/services/evaluate-image';
import { completeScan, finding, policyOf } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { pushImage, pushIndex } from '../support/oci-images';
import { type LocalRegistry, startRegistry } from '../support/registry';

describe('verdict attestations on a real registry', () => {
  let registry: LocalRegistry;
  let dynamo: LocalDynamo;
  let client: RegistryClient;
  const signer = new FileSigner(generatePrivateKeyPem());
  let publicKeyPem: string;

  beforeAll(async () => {
    [registry, dynamo] = await Promise.all([startRegistry(), startDynalite()]);
    client = new RegistryClient({ registry: registry.host });
    publicKeyPem = await signer.publicKeyPem();
  });
  afterAll(async () => Promise.all([registry.stop(), dynamo.stop()]));

  async function setup(repository: string, index = false) {
    const world = new MemoryRegistry();
    const multi = index ? await pushIndex(client, repository, { tag: 'v1' }) : undefined;
    const image = multi ?? (await pushImage(client, repository, { tag: 'v1' }));
    const key: ImageKey = { registry: registry.host, repository, digest: image.digest };
    world.put(
      { key, tags: ['v1'], mediaType: image.mediaType },
      completeScan([finding('CVE-2026-1', 'LOW')]),
    );
    if (multi) {
      const platforms = multi.platforms.map((p, i) => ({
        digest: p.digest,
        platform: i ? 'linux/arm64' : 'linux/amd64',
      }));
      world.put({ key, tags: ['v1'], mediaType: image.mediaType, platforms });
      for (const p of platforms) world.putScan({ ...key, digest: p.digest }, completeScan([]));
    }
    const table = await dynamo.newTable();
    const store = new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents });
    const attestor = new RegistryVerdictAttestor({
      clientFor: () => client,
      signer,
      version: 'test',
    });
    return { image, key, world, store, attestor };
  }

  /**
   * The two artifacts as releases before the owner-key rename wrote them, built here by hand
   * (referrer + `.att` layer, owner under `dev.registry-watcher.attestation/owner`).
   */
  async function attachAsBeforeTheRename(key: ImageKey, bundle: SerializedBundle, owner: string) {
    const { repository, digest } = key;
    const subject = await client.getManifest(repository, digest);
    await client.pushBlob(repository, OCI_EMPTY_BLOB, EMPTY_CONFIG.mediaType);
    const layer = await client.pushBlob(
      repository,
      Buffer.from(JSON.stringify(bundle)),
      SIGSTORE_BUNDLE_V03,
    );
    await attachReferrer(client, repository, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: SIGSTORE_BUNDLE_V03,
      config: EMPTY_CONFIG,
      layers: [layer],
      subject: { mediaType: subject.mediaType, digest, size: subject.bytes.length },
      annotations: {
        'dev.sigstore.bundle.content': 'dsse-envelope',
        'dev.sigstore.bundle.predicateType': VULN_PREDICATE_TYPE,
        'dev.registry-watcher.attestation/owner': owner,
      },
    });
    const envelope = await client.pushBlob(
      repository,
      Buffer.from(JSON.stringify(bundle.dsseEnvelope)),
      DSSE_ENVELOPE,
    );
    const config = await client.pushBlob(repository, Buffer.from('{}'), OCI_CONFIG);
    const layers = [
      {
        ...envelope,
        annotations: {
          predicateType: VULN_PREDICATE_TYPE,
          'dev.registry-watcher.attestation/owner': owner,
        },
      },
    ];
    await client.putManifest(
      repository,
      digestTag(digest, '.att'),
      manifestBytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }),
    );
  }

  async function verdictsIn(key: ImageKey) {
    const read = await readAttestations(client, key, VULN_PREDICATE_TYPE);
    return read.map((a) => {
      const { statement } = verifyAttestation(a, key.digest, {
        keys: [{ name: 'watcher', publicKeyPem }],
        keyless: [],
      });
      return {
        format: a.format,
        verdict: (statement.predicate as VulnPredicate).scanner.result.verdict,
        statement,
      };
    });
  }

  it('attaches the verdict in both formats; both read back and verify with our key', async () => {
    const { key, world, store, attestor } = await setup('att/app');
    const now = new Date('2026-11-23T10:00:00Z');
    const result = await evaluateImage(
      { key, trigger: 'push' },
      { images: world, findings: world, store, policy: policyOf(), attestor, clock: () => now },
    );
    expect(result.attested).toBe(true);
    expect(result.record?.attestation).toEqual({
      digest: expect.stringMatching(/^sha256:/),
      attestedAt: now.toISOString(),
    });
    expect(await store.get(key)).toMatchObject({
      attestation: result.record?.attestation,
      verdict: 'PASS',
    });

    const read = await verdictsIn(key);
    expect(read.map((r) => [r.format, r.verdict]).sort()).toEqual([
      ['cosign-legacy', 'PASS'],
      ['sigstore-bundle', 'PASS'],
    ]);
    const statement = read[0]?.statement;
    expect(statement).toMatchObject({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: `${registry.host}/att/app`, digest: { sha256: key.digest.slice(7) } }],
      predicateType: VULN_PREDICATE_TYPE,
      predicate: {
        scanner: {
          result: {
            severityCounts: expect.objectContaining({ LOW: 1 }),
            reasons: expect.any(Array),
          },
        },
        metadata: {
          scanStartedOn: '2026-11-22T00:00:00.000Z',
          scanFinishedOn: '2026-11-22T00:00:00.000Z',
        },
      },
    });
    // the .att layer is what Kyverno's type Cosign and policy-controller read
    const att = parseImageManifest(
      (await client.getManifest('att/app', digestTag(key.digest, '.att'))).json,
    );
    expect(att?.layers).toEqual([
      expect.objectContaining({
        mediaType: DSSE_ENVELOPE,
        annotations: expect.objectContaining({ predicateType: VULN_PREDICATE_TYPE }),
      }),
    ]);
    // and the referrer index entry carries the annotations Kyverno and cosign v3 filter on
    const { descriptors } = await listReferrers(client, 'att/app', key.digest);
    expect(descriptors[0]).toMatchObject({
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      annotations: {
        'dev.sigstore.bundle.predicateType': VULN_PREDICATE_TYPE,
        'dev.sigstore.bundle.content': 'dsse-envelope',
      },
    });
  });

  it('re-attests on a verdict change or after the refresh interval, replacing ours and keeping others', async () => {
    const { key, world, store, attestor } = await setup('att/replace');
    // someone else's attestation of the same type is already there, in both formats
    const foreign = new FileSigner(generatePrivateKeyPem());
    const foreignBundle = await signDsseBundle(
      Buffer.from('{"other":true}'),
      IN_TOTO_PAYLOAD_TYPE,
      foreign,
    );
    await attachAttestation(client, key, foreignBundle, {
      predicateType: VULN_PREDICATE_TYPE,
      owner: 'someone-else',
      created: '2026-11-01T00:00:00Z',
    });

    let now = new Date('2026-11-23T10:00:00Z');
    const options = {
      images: world,
      findings: world,
      store,
      policy: policyOf(),
      attestor,
      clock: () => now,
    };
    const request = { key, trigger: 'push' as const };
    expect((await evaluateImage(request, options)).attested).toBe(true);

    now = new Date('2026-11-23T20:00:00Z'); // same verdict, within 24 h
    expect((await evaluateImage(request, options)).attested).toBeUndefined();

    world.put(
      { key, tags: ['v1'] },
      completeScan([finding('CVE-2026-9', 'CRITICAL')], '2026-11-23T19:00:00Z'),
    );
    const failed = await evaluateImage(request, options);
    expect(failed).toMatchObject({
      write: 'transition',
      attested: true,
      record: { verdict: 'FAIL' },
    });

    now = new Date('2026-11-24T20:00:01Z'); // 24 h later, unchanged: refreshed
    expect((await evaluateImage(request, options)).attested).toBe(true);

    const read = await readAttestations(client, key, VULN_PREDICATE_TYPE);
    expect(read.filter((a) => a.owner === 'someone-else')).toHaveLength(2);
    const ours = read.filter((a) => a.owner !== 'someone-else');
    expect(ours.map((a) => a.format).sort()).toEqual(['cosign-legacy', 'sigstore-bundle']);
    for (const a of ours) {
      const { statement } = verifyAttestation(a, key.digest, {
        keys: [{ name: 'watcher', publicKeyPem }],
        keyless: [],
      });
      expect((statement.predicate as VulnPredicate).scanner.result.verdict).toBe('FAIL');
    }
    const att = parseImageManifest(
      (await client.getManifest('att/replace', digestTag(key.digest, '.att'))).json,
    );
    expect(att?.layers).toHaveLength(2); // foreign + ours: replaced, not appended
  });

  it('owner annotation renamed: ours written under the reverse-domain key; the old key still read and replaced', async () => {
    const { key, world, store, attestor } = await setup('att/renamed');
    const bundle = await signDsseBundle(Buffer.from('{"old":true}'), IN_TOTO_PAYLOAD_TYPE, signer);
    // What a release before the rename left: both formats, owner under the old key.
    const owner = keyHint(publicKeyPem);
    await attachAsBeforeTheRename(key, bundle, owner);
    const before = await readAttestations(client, key, VULN_PREDICATE_TYPE);
    expect(before.map((a) => [a.format, a.owner]).sort()).toEqual([
      ['cosign-legacy', owner],
      ['sigstore-bundle', owner],
    ]);

    const now = new Date('2026-11-23T10:00:00Z');
    const result = await evaluateImage(
      { key, trigger: 'push' },
      { images: world, findings: world, store, policy: policyOf(), attestor, clock: () => now },
    );
    expect(result.attested).toBe(true);
    // the old artifacts are gone (replaced as ours), the new ones carry only the new key
    const after = await readAttestations(client, key, VULN_PREDICATE_TYPE);
    expect(after.map((a) => [a.format, a.owner]).sort()).toEqual([
      ['cosign-legacy', owner],
      ['sigstore-bundle', owner],
    ]);
    const { descriptors } = await listReferrers(client, 'att/renamed', key.digest);
    expect(descriptors).toHaveLength(1);
    expect(descriptors[0]?.annotations).toEqual(
      expect.objectContaining({ 'io.registry-watcher.attestation.owner': owner }),
    );
    expect(descriptors[0]?.annotations).not.toHaveProperty([
      'dev.registry-watcher.attestation/owner',
    ]);
    const att = parseImageManifest(
      (await client.getManifest('att/renamed', digestTag(key.digest, '.att'))).json,
    );
    expect(att?.layers).toHaveLength(1);
    expect(att?.layers[0]?.annotations).toEqual(
      expect.objectContaining({ 'io.registry-watcher.attestation.owner': owner }),
    );
    expect(att?.layers[0]?.annotations).not.toHaveProperty([
      'dev.registry-watcher.attestation/owner',
    ]);
  });

  it('attests a two-platform index on the index digest', async () => {
    const { key, world, store, attestor } = await setup('att/multi', true);
    const result = await evaluateImage(
      { key, trigger: 'push' },
      {
        images: world,
        findings: world,
        store,
        policy: policyOf(),
        attestor,
        clock: () => new Date('2026-11-23T10:00:00Z'),
      },
    );
    expect(result.attested).toBe(true);
    const read = await verdictsIn(key);
    expect(read).toHaveLength(2);
  });

  it('a foreign key does not verify our attestation', async () => {
    const { key, world, store, attestor } = await setup('att/wrongkey');
    await evaluateImage(
      { key, trigger: 'push' },
      { images: world, findings: world, store, policy: policyOf(), attestor },
    );
    const other = await new FileSigner(generatePrivateKeyPem()).publicKeyPem();
    for (const a of await readAttestations(client, key, VULN_PREDICATE_TYPE)) {
      expect(() =>
        verifyAttestation(a, key.digest, {
          keys: [{ name: 'other', publicKeyPem: other }],
          keyless: [],
        }),
      ).toThrow(expect.objectContaining({ code: 'KEY_UNTRUSTED' }));
    }
  });
});
