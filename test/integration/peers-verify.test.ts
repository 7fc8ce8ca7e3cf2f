import { readFileSync, writeFileSync } from 'node:fs';
import { FileSigner, generatePrivateKeyPem } from '../../shared/adapters/local/file-signer';
import { FolderAllowlistStore } from '../../shared/adapters/local/folder-allowlist-store';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { RegistryClient } from '../../shared/adapters/oci/client';
import { sigstoreAllowlistSignatures } from '../../shared/adapters/sigstore/allowlist-signatures';
import { RegistryVerdictAttestor } from '../../shared/adapters/sigstore/verdict-attestor';
import { VULN_PREDICATE_TYPE } from '../../shared/domain/attestation';
import type { Finding } from '../../shared/domain/findings';
import { evaluateImage } from '../../shared/services/evaluate-image';
import { publishAllowlist } from '../../shared/services/publish-allowlist';
import { completeScan, finding, policyOf } from '../support/builders';
import { MemoryVerdicts } from '../support/memory-verdicts';
import { type ImageFormat, pushImage } from '../support/oci-images';
import { COSIGN_LOOPBACK, EMPTY_TRUSTED_ROOT, Peers } from '../support/peers';
import { type LocalRegistry, startRegistry } from '../support/registry';

const HOUR = 3_600_000;

/**
 * The CUE policy of docs/signatures.md, as a user hands it to cosign (Debian's cosign is
 * built without OPA: `--policy x.rego` says "invalid policy format, expected .cue").
 */
const CUE_POLICY = `predicateType: "https://cosign.sigstore.dev/attestation/vuln/v1"
predicate: scanner: result: {
	verdict: "PASS" | "WARN"
	evaluatedAt: string
}
`;
/** Real cosign 2.5 (and oras) verify and read what our attestor and allowlist publisher wrote. */
describe('we sign, peers verify: our attestations and allowlist under cosign', () => {
  let registry: LocalRegistry;
  let client: RegistryClient;
  let peers: Peers;
  const watcher = new FileSigner(generatePrivateKeyPem());
  const stranger = new FileSigner(generatePrivateKeyPem());
  let watcherPub: string;
  let strangerPub: string;
  let cue: string;
  let count = 0;

  beforeAll(async () => {
    registry = await startRegistry();
    client = new RegistryClient({ registry: registry.host });
    peers = new Peers();
    watcherPub = peers.write('watcher.pub', await watcher.publicKeyPem());
    strangerPub = peers.write('stranger.pub', await stranger.publicKeyPem());
    cue = peers.write('verdict.cue', CUE_POLICY);
  });
  afterAll(async () => {
    await registry.stop();
    peers.stop();
  });

  /**
   * cosign judges freshness by the machine's clock (a Go program: faketime does not move it),
   * so the verdicts are dated by the registry's clock, which is the same.
   */
  async function realNow(): Promise<Date> {
    const response = await fetch(`http://${registry.host}/v2/`);
    await response.arrayBuffer();
    return new Date(response.headers.get('date') ?? 'missing Date header');
  }

  /** Pushes an image and runs the evaluate path with our attestor: both formats attached. */
  async function attested(options: { format?: ImageFormat; findings?: Finding[]; at?: Date } = {}) {
    const repository = `peers/att${++count}`;
    const image = await pushImage(client, repository, {
      format: options.format ?? 'oci',
      tag: 'v1',
      content: `attested ${count}`,
    });
    const key = { registry: registry.host, repository, digest: image.digest };
    const now = options.at ?? (await realNow());
    const world = new MemoryRegistry().put(
      { key, tags: ['v1'], mediaType: image.mediaType },
      completeScan(options.findings ?? [], new Date(now.getTime() - HOUR).toISOString()),
    );
    const result = await evaluateImage(
      { key, trigger: 'push' },
      {
        images: world,
        findings: world,
        store: new MemoryVerdicts(),
        policy: policyOf(),
        attestor: new RegistryVerdictAttestor({
          clientFor: () => client,
          signer: watcher,
          version: 'peers',
        }),
        clock: () => now,
      },
    );
    expect(result.attested).toBe(true);
    return { ref: `${registry.host}/${repository}@${image.digest}`, image, record: result.record };
  }

  const verifyAttestation = (ref: string, ...extra: string[]) =>
    peers.run('cosign', [
      'verify-attestation',
      ...extra,
      '--insecure-ignore-tlog',
      '--type',
      'vuln',
      ...COSIGN_LOOPBACK,
      ref,
    ]);

  /** The in-toto statements in cosign's output (one DSSE envelope JSON per line). */
  const statements = (stdout: string) =>
    stdout
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => {
        const envelope = JSON.parse(line) as { payloadType: string; payload: string };
        expect(envelope.payloadType).toBe('application/vnd.in-toto+json');
        return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
      });

  it.each<ImageFormat>(['oci', 'docker'])(
    'cosign verify-attestation --type vuln with the CUE policy accepts our .att of a %s image',
    async (format) => {
      const { ref, image } = await attested({ format, findings: [finding('CVE-2026-1', 'LOW')] });
      const run = await verifyAttestation(ref, '--key', watcherPub, '--policy', cue);
      expect(run.stderr).toMatch(/The signatures were verified against the specified public key/);
      expect(run.code).toBe(0);
      const [statement, ...more] = statements(run.stdout);
      expect(more).toEqual([]);
      expect(statement).toMatchObject({
        predicateType: VULN_PREDICATE_TYPE,
        subject: [{ digest: { sha256: image.digest.slice('sha256:'.length) } }],
        predicate: { scanner: { result: { verdict: 'PASS' } } },
      });
    },
  );

  it('the CUE policy refuses a FAIL verdict that cosign verifies as signed', async () => {
    const { ref } = await attested({ findings: [finding('CVE-2026-9', 'CRITICAL')] });
    const signed = await verifyAttestation(ref, '--key', watcherPub);
    expect(signed.code).toBe(0);
    expect(statements(signed.stdout)[0]).toMatchObject({
      predicate: { scanner: { result: { verdict: 'FAIL' } } },
    });
    const judged = await verifyAttestation(ref, '--key', watcherPub, '--policy', cue);
    expect(judged.code).not.toBe(0);
    expect(judged.stderr).toMatch(/failed policy validation|conflicting values|verdict/i);
  });

  it('cosign refuses our attestation under another key', async () => {
    const { ref } = await attested();
    const run = await verifyAttestation(ref, '--key', strangerPub);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/no matching attestations|invalid signature/i);
  });

  it('cosign download attestation reads our .att: the statement our attestor signed', async () => {
    const { ref, record } = await attested({ format: 'docker' });
    const run = await peers.ok('cosign', [
      'download',
      'attestation',
      '--predicate-type',
      VULN_PREDICATE_TYPE,
      ...COSIGN_LOOPBACK,
      ref,
    ]);
    const [statement, ...more] = statements(run.stdout);
    expect(more).toEqual([]);
    expect(statement).toMatchObject({
      _type: 'https://in-toto.io/Statement/v1',
      predicate: {
        scanner: {
          version: 'registry-watcher/peers ecr-basic',
          result: { verdict: record?.verdict, evaluatedAt: record?.evaluatedAt },
        },
      },
    });
  });

  it('oras discover finds our bundle referrer through the referrers tag schema', async () => {
    const { ref, image } = await attested();
    const run = await peers.ok('oras', [
      'discover',
      '--plain-http',
      '--distribution-spec',
      'v1.1-referrers-tag',
      '-o',
      'json',
      ref,
    ]);
    const { manifests } = JSON.parse(run.stdout) as {
      manifests: { artifactType: string; annotations?: Record<string, string> }[];
    };
    expect(manifests).toEqual([
      expect.objectContaining({
        artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        annotations: expect.objectContaining({
          'dev.sigstore.bundle.predicateType': VULN_PREDICATE_TYPE,
        }),
      }),
    ]);
    expect(image.digest).toMatch(/^sha256:/);
  });

  it('cosign verify-blob accepts our signed allowlist, offline, and refuses a changed byte or the other key', async () => {
    const now = await realNow();
    const store = new FolderAllowlistStore(peers.path('allowlist'));
    await publishAllowlist({
      admitted: {
        async *pages() {
          yield [
            {
              registry: registry.host,
              repository: 'peers/api',
              digest: `sha256:${'a'.repeat(64)}`,
              verdict: 'PASS' as const,
              tags: ['1.0.0'],
            },
          ];
        },
      },
      sequence: { next: async (atLeast = 1) => atLeast },
      signer: watcher,
      signatures: sigstoreAllowlistSignatures,
      store,
      policyHash: 'sha256:peers',
      validityMs: 24 * HOUR,
      clock: () => now,
    });
    const root = peers.write('trusted_root.json', EMPTY_TRUSTED_ROOT);
    const verifyBlob = (key: string, document: string) =>
      peers.run('cosign', [
        'verify-blob',
        '--key',
        key,
        '--bundle',
        store.paths.bundle,
        '--new-bundle-format',
        '--trusted-root',
        root,
        '--insecure-ignore-tlog',
        document,
      ]);
    const { paths } = store;
    const ok = await verifyBlob(paths.publicKey, paths.document);
    expect(ok.stderr).toMatch(/Verified OK/);
    expect(ok.code).toBe(0);

    const changed = peers.path('allowlist-changed.json');
    writeFileSync(changed, readFileSync(paths.document, 'utf8').replace('"PASS"', '"WARN"'));
    expect(readFileSync(changed).equals(readFileSync(paths.document))).toBe(false);
    const tampered = await verifyBlob(paths.publicKey, changed);
    expect(tampered.code).not.toBe(0);
    expect(tampered.stderr).toMatch(/invalid signature/);
    const otherKey = await verifyBlob(strangerPub, paths.document);
    expect(otherKey.code).not.toBe(0);
  });
});
