import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleToJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { main } from '../../cli/main';
import { FileSigner, generatePrivateKeyPem } from '../../shared/adapters/local/file-signer';
import { signDsseBundle, signMessageBundle } from '../../shared/adapters/sigstore/bundles';
import { IN_TOTO_PAYLOAD_TYPE, IN_TOTO_STATEMENT_V1 } from '../../shared/domain/attestation';
import { cosignBundle, cosignStatement } from '../support/cosign';
import { type MockSigstore, startMockSigstore } from '../support/sigstore-mock';

const ISSUER = 'https://token.actions.githubusercontent.com';
const SUBJECT = 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1';

describe('registry-watcher verify-bundle', () => {
  let dir: string;
  let sigstore: MockSigstore;
  const signer = new FileSigner(generatePrivateKeyPem());
  const other = new FileSigner(generatePrivateKeyPem());
  const file = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(['verify-bundle', ...args], {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
    });
    return { code, out, err };
  }

  let artifact: string;
  let artifactDigest: string;
  let key: string;
  let otherKey: string;
  let trustedRoot: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rw-verify-bundle-'));
    sigstore = await startMockSigstore();
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 10, 13]); // binary on purpose
    artifact = file('artifact.bin', bytes);
    artifactDigest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    key = file('key.pub', await signer.publicKeyPem());
    otherKey = file('other.pub', await other.publicKeyPem());
    trustedRoot = file(
      'trusted_root.json',
      JSON.stringify(TrustedRoot.toJSON(sigstore.trustedRoot)),
    );
    file('keyed.sigstore.json', JSON.stringify(await signMessageBundle(bytes, signer)));
    file(
      'keyless.sigstore.json',
      JSON.stringify(
        bundleToJSON(await sigstore.signMessage(bytes, { issuer: ISSUER, subject: SUBJECT })),
      ),
    );
    const statement = {
      _type: IN_TOTO_STATEMENT_V1,
      subject: [{ name: 'artifact.bin', digest: { sha256: artifactDigest.slice(7) } }],
      predicateType: 'https://example.com/p',
      predicate: {},
    };
    file(
      'dsse.sigstore.json',
      JSON.stringify(
        await signDsseBundle(Buffer.from(JSON.stringify(statement)), IN_TOTO_PAYLOAD_TYPE, signer),
      ),
    );
    // cosign attest-blob --new-bundle-format --key: Statement v0.1, base64 hint, no keyid.
    file(
      'cosign-attest-blob.sigstore.json',
      await cosignBundle(
        cosignStatement('artifact.bin', artifactDigest, 'https://example.com/p', {}),
        signer,
      ),
    );
    // Valid signatures over payloads that are no in-toto statement: what they are about
    // cannot be read, so no artifact may pass (cosign rejects them too).
    for (const [name, payload, type] of [
      ['json', JSON.stringify({ hello: 'world' }), IN_TOTO_PAYLOAD_TYPE],
      ['text', 'not json at all', 'text/plain'],
    ]) {
      file(
        `unreadable-${name}.sigstore.json`,
        JSON.stringify(await signDsseBundle(Buffer.from(payload ?? ''), type ?? '', signer)),
      );
    }
  });
  afterAll(async () => {
    await sigstore.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const keyless = () => [
    '--trusted-root',
    trustedRoot,
    '--certificate-identity',
    SUBJECT,
    '--certificate-oidc-issuer',
    ISSUER,
  ];

  it.each([
    ['keyed, file', () => ['--bundle', join(dir, 'keyed.sigstore.json'), '--key', key, artifact]],
    [
      'keyed, sha256 digest',
      () => ['--bundle', join(dir, 'keyed.sigstore.json'), '--key', key, artifactDigest],
    ],
    [
      'keyless, file',
      () => ['--bundle', join(dir, 'keyless.sigstore.json'), ...keyless(), artifact],
    ],
    [
      'keyless, sha256 digest',
      () => ['--bundle', join(dir, 'keyless.sigstore.json'), ...keyless(), artifactDigest],
    ],
    [
      'cosign attest-blob bundle (in-toto Statement v0.1) about the file',
      () => ['--bundle', join(dir, 'cosign-attest-blob.sigstore.json'), '--key', key, artifact],
    ],
    [
      'DSSE statement about the file',
      () => ['--bundle', join(dir, 'dsse.sigstore.json'), '--key', key, artifact],
    ],
  ])('exit 0 when valid: %s', async (_name, args) => {
    const result = await run(...args());
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toMatch(/^OK: verified, signed by /);
  });

  it('-o json prints the same result as data; a failure keeps exit 1 and stderr', async () => {
    const args = ['--bundle', join(dir, 'keyless.sigstore.json'), ...keyless()];
    const text = await run(...args, artifact);
    const json = await run(...args, artifact, '-o', 'json');
    expect(json.code).toBe(0);
    const result = JSON.parse(json.out);
    expect(result).toEqual({ verified: true, artifact, signer: expect.any(String) });
    expect(text.out).toBe(`OK: verified, signed by ${result.signer}`);
    const failed = await run(...args, `sha256:${'0'.repeat(64)}`, '-o', 'json');
    expect(failed).toMatchObject({ code: 1, out: '' });
    expect(failed.err).toContain('DIGEST_MISMATCH');
  });

  it.each([
    [
      'a changed file',
      () => ['--bundle', join(dir, 'keyed.sigstore.json'), '--key', key, file('changed.bin', 'x')],
      /DIGEST_MISMATCH/,
    ],
    [
      'another digest',
      () => [
        '--bundle',
        join(dir, 'keyless.sigstore.json'),
        ...keyless(),
        `sha256:${'0'.repeat(64)}`,
      ],
      /DIGEST_MISMATCH/,
    ],
    [
      'a wrong key',
      () => ['--bundle', join(dir, 'keyed.sigstore.json'), '--key', otherKey, artifact],
      /KEY_UNTRUSTED/,
    ],
    [
      'a wrong identity',
      () => [
        '--bundle',
        join(dir, 'keyless.sigstore.json'),
        '--trusted-root',
        trustedRoot,
        '--certificate-identity',
        `${SUBJECT}x`,
        '--certificate-oidc-issuer',
        ISSUER,
        artifact,
      ],
      /IDENTITY_MISMATCH/,
    ],
    [
      'a wrong issuer',
      () => [
        '--bundle',
        join(dir, 'keyless.sigstore.json'),
        '--trusted-root',
        trustedRoot,
        '--certificate-identity',
        SUBJECT,
        '--certificate-oidc-issuer',
        'https://accounts.google.com',
        artifact,
      ],
      /IDENTITY_MISMATCH/,
    ],
    ['a file that is no bundle', () => ['--bundle', key, '--key', key, artifact], /is not JSON/],
    [
      'a DSSE payload that is JSON but no in-toto statement, any file',
      () => ['--bundle', join(dir, 'unreadable-json.sigstore.json'), '--key', key, key],
      /STATEMENT_UNREADABLE: the DSSE payload \(application\/vnd.in-toto\+json\) is not an in-toto statement/,
    ],
    [
      'a DSSE payload that is not JSON, given as a digest',
      () => [
        '--bundle',
        join(dir, 'unreadable-text.sigstore.json'),
        '--key',
        key,
        `sha256:${'0'.repeat(64)}`,
      ],
      /STATEMENT_UNREADABLE: the DSSE payload \(text\/plain\) is not an in-toto statement/,
    ],
  ])('exit 1 with the reason: %s', async (_name, args, reason) => {
    const result = await run(...args());
    expect(result.code).toBe(1);
    expect(result.err).toMatch(reason);
  });

  it('exit 2 when neither a key nor a trusted root is given', async () => {
    const result = await run('--bundle', join(dir, 'keyed.sigstore.json'), artifact);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/give --key PEM, or --trusted-root/);
  });
});
