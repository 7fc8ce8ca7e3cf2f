import { readFileSync } from 'node:fs';
import { FileSigner, generatePrivateKeyPem } from '../../shared/adapters/local/file-signer';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { RegistryClient } from '../../shared/adapters/oci/client';
import { readAttestations, verifyAttestation } from '../../shared/adapters/sigstore/attestations';
import { RegistryVerdictAttestor } from '../../shared/adapters/sigstore/verdict-attestor';
import { VULN_PREDICATE_TYPE } from '../../shared/domain/attestation';
import { evaluateImage } from '../../shared/services/evaluate-image';
import { completeScan, policyOf } from '../support/builders';
import { runCli } from '../support/cli';
import { MemoryVerdicts } from '../support/memory-verdicts';
import { type ImageFormat, pushImage } from '../support/oci-images';
import { COSIGN_LOOPBACK, EMPTY_TRUSTED_ROOT, Peers } from '../support/peers';
import { type LocalRegistry, startRegistry } from '../support/registry';

const PREDICATE = {
  scanner: { uri: 'https://example.com/ci-scanner', version: '1', result: { verdict: 'PASS' } },
  metadata: { scanStartedOn: '2026-12-01T00:00:00Z', scanFinishedOn: '2026-12-01T00:00:00Z' },
};

/** Attestations both ways: cosign attests, we read; we attest as a bundle, cosign verifies. */
describe('peers attest: cosign attestations in both formats, and ours as bundles', () => {
  let registry: LocalRegistry;
  let client: RegistryClient;
  let peers: Peers;
  let cosign: { key: string; pub: string; pem: string };
  let predicate: string;
  let count = 0;

  beforeAll(async () => {
    registry = await startRegistry();
    client = new RegistryClient({ registry: registry.host });
    peers = new Peers();
    const keys = await peers.cosignKeys('ci');
    cosign = { ...keys, pem: readFileSync(keys.pub, 'utf8') };
    predicate = peers.write('vuln.json', JSON.stringify(PREDICATE));
  });
  afterAll(async () => {
    await registry.stop();
    peers.stop();
  });

  async function newImage(format: ImageFormat = 'oci') {
    const repository = `peers/att${++count}`;
    const image = await pushImage(client, repository, { format, tag: 'v1', content: `a${count}` });
    const key = { registry: registry.host, repository, digest: image.digest };
    return { key, image, ref: `${registry.host}/${repository}@${image.digest}` };
  }

  const cosignAttest = (ref: string, ...extra: string[]) =>
    peers.ok(
      'cosign',
      [
        'attest',
        ...extra,
        '--key',
        cosign.key,
        '--tlog-upload=false',
        '-y',
        '--type',
        'vuln',
        '--predicate',
        predicate,
        ...COSIGN_LOOPBACK,
        ref,
      ],
      { COSIGN_PASSWORD: '' },
    );

  it.each([
    ['legacy .att', [], 'cosign-legacy'],
    ['--new-bundle-format (referrers tag schema)', ['--new-bundle-format'], 'sigstore-bundle'],
  ] as const)('we read and verify `cosign attest` %s', async (_, extra, format) => {
    const { key, ref } = await newImage();
    await cosignAttest(ref, ...extra);
    const found = await readAttestations(client, key, VULN_PREDICATE_TYPE);
    expect(found.map((a) => a.format)).toEqual([format]);
    const [attestation] = found;
    if (!attestation) throw new Error('nothing read');
    const { statement } = verifyAttestation(attestation, key.digest, {
      keys: [{ name: 'ci', publicKeyPem: cosign.pem }],
      keyless: [],
    });
    expect(statement).toMatchObject({
      predicateType: VULN_PREDICATE_TYPE,
      predicate: PREDICATE,
      subject: [{ digest: { sha256: key.digest.slice('sha256:'.length) } }],
    });
    expect(() =>
      verifyAttestation(attestation, `sha256:${'0'.repeat(64)}`, {
        keys: [{ name: 'ci', publicKeyPem: cosign.pem }],
        keyless: [],
      }),
    ).toThrow(expect.objectContaining({ code: 'DIGEST_MISMATCH' }));
  });

  it('two cosign signers attest one image: two .att layers, each verifies with its own key only', async () => {
    const other = await peers.cosignKeys('release');
    const otherPem = readFileSync(other.pub, 'utf8');
    const { key, ref } = await newImage('docker');
    await cosignAttest(ref);
    await peers.ok(
      'cosign',
      [
        'attest',
        '--key',
        other.key,
        '--tlog-upload=false',
        '-y',
        '--type',
        'vuln',
        '--predicate',
        predicate,
        ...COSIGN_LOOPBACK,
        ref,
      ],
      { COSIGN_PASSWORD: '' },
    );
    const found = await readAttestations(client, key, VULN_PREDICATE_TYPE);
    expect(found.map((a) => a.format)).toEqual(['cosign-legacy', 'cosign-legacy']);
    const signers = (pem: string) =>
      found.flatMap((a) => {
        try {
          return [
            verifyAttestation(a, key.digest, {
              keys: [{ name: 'k', publicKeyPem: pem }],
              keyless: [],
            }).signer.signer,
          ];
        } catch {
          return [];
        }
      });
    expect(signers(cosign.pem)).toEqual(['k']);
    expect(signers(otherPem)).toEqual(['k']);
  });

  it('cosign verify-attestation --new-bundle-format accepts our bundle referrer', async () => {
    const watcher = new FileSigner(generatePrivateKeyPem());
    const pub = peers.write('attestation.pub', await watcher.publicKeyPem());
    const root = peers.write('trusted_root.json', EMPTY_TRUSTED_ROOT);
    const { key, image } = await newImage('docker');
    const now = new Date();
    const world = new MemoryRegistry().put(
      { key, tags: ['v1'], mediaType: image.mediaType },
      completeScan([], new Date(now.getTime() - 3_600_000).toISOString()),
    );
    await evaluateImage(
      { key, trigger: 'push' },
      {
        images: world,
        findings: world,
        store: new MemoryVerdicts(),
        policy: policyOf(),
        attestor: new RegistryVerdictAttestor({ clientFor: () => client, signer: watcher }),
        clock: () => now,
      },
    );
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
      `${registry.host}/${key.repository}@${key.digest}`,
    ]);
    expect(run.stderr).toMatch(/signatures were verified against the specified public key/);
    expect(run.code).toBe(0);
  });

  it('verify-bundle on a `cosign attest-blob` bundle: the file it covers passes, another fails, as with cosign', async () => {
    const blob = peers.write('release.tar', 'the release\n');
    const other = peers.write('other.tar', 'something else\n');
    const bundle = peers.path('release.sigstore.json');
    await peers.ok(
      'cosign',
      [
        'attest-blob',
        '--key',
        cosign.key,
        '--tlog-upload=false',
        '-y',
        '--new-bundle-format',
        '--type',
        'vuln',
        '--predicate',
        predicate,
        '--bundle',
        bundle,
        blob,
      ],
      { COSIGN_PASSWORD: '' },
    );
    const ours = (file: string) =>
      runCli(['verify-bundle', '--bundle', bundle, '--key', cosign.pub, file]);
    expect(await ours(blob)).toMatchObject({ code: 0 });
    const refused = await ours(other);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/DIGEST_MISMATCH/);

    const root = peers.write('trusted_root.json', EMPTY_TRUSTED_ROOT);
    const theirs = (file: string) =>
      peers.run('cosign', [
        'verify-blob-attestation',
        '--key',
        cosign.pub,
        '--bundle',
        bundle,
        '--new-bundle-format',
        '--trusted-root',
        root,
        '--insecure-ignore-tlog',
        '--type',
        'vuln',
        file,
      ]);
    expect((await theirs(blob)).code).toBe(0);
    expect((await theirs(other)).code).not.toBe(0);
  });
});
