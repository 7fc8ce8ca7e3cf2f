import { runCli } from '../support/cli';
import { EMPTY_TRUSTED_ROOT, Peers } from '../support/peers';

const PREDICATE = {
  scanner: { uri: 'https://example.com/ci-scanner', version: '1', result: { verdict: 'PASS' } },
  metadata: { scanStartedOn: '2026-12-01T00:00:00Z', scanFinishedOn: '2026-12-01T00:00:00Z' },
};

/** Attestations made by cosign, judged by our code and by cosign itself. */
describe('peers attest: cosign attestations read by us', () => {
  let peers: Peers;
  let cosign: { key: string; pub: string };
  let predicate: string;

  beforeAll(async () => {
    peers = new Peers();
    cosign = await peers.cosignKeys('ci');
    predicate = peers.write('vuln.json', JSON.stringify(PREDICATE));
  });
  afterAll(() => peers.stop());

  it('verify-bundle on a `cosign attest-blob` bundle refuses a file it does not cover, as cosign does', async () => {
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
    const refused = await runCli(['verify-bundle', '--bundle', bundle, '--key', cosign.pub, other]);
    expect(refused.out).not.toMatch(/OK/);
    expect(refused.code).toBe(1);

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
