import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { RegistryClient } from '../../shared/adapters/oci/client';
import { digestTag, parseImageManifest } from '../../shared/adapters/oci/manifest';
import { ANNOTATION } from '../../shared/adapters/sigstore/cosign-legacy';
import { RegistrySignatureVerifier } from '../../shared/adapters/sigstore/image-signatures';
import { KeyResolver } from '../../shared/adapters/sigstore/trust';
import { settingsFor } from '../../shared/domain/policy';
import { policyOf } from '../support/builders';
import { pushImage } from '../support/oci-images';
import { COSIGN_LOOPBACK, Peers } from '../support/peers';
import { type LocalRegistry, startRegistry } from '../support/registry';
import { type MockSigstore, startMockSigstore } from '../support/sigstore-mock';

/**
 * cosign 2.5 with its transparency-log upload on, against sigstore's mock Rekor on
 * loopback (no network): the `.sig` layer then carries `dev.sigstore.cosign/bundle` (the
 * signed entry timestamp and the hashedrekord body). We read and verify that format too.
 */
describe('peers: cosign sign with a Rekor upload (mock Rekor on loopback)', () => {
  let registry: LocalRegistry;
  let client: RegistryClient;
  let sigstore: MockSigstore;
  let peers: Peers;

  beforeAll(async () => {
    [registry, sigstore] = await Promise.all([startRegistry(), startMockSigstore()]);
    client = new RegistryClient({ registry: registry.host });
    peers = new Peers();
  });
  afterAll(async () => {
    await Promise.all([registry.stop(), sigstore.stop()]);
    peers.stop();
  });

  it('the .sig layer carries the Rekor bundle; verified with the signer key only', async () => {
    const tlog = sigstore.trustedRoot.tlogs[0];
    if (!tlog?.publicKey?.rawBytes) throw new Error('mock trusted root without a log key');
    const rekorKey = peers.write(
      'rekor.pub',
      createPublicKey({ key: Buffer.from(tlog.publicKey.rawBytes), format: 'der', type: 'spki' })
        .export({ type: 'spki', format: 'pem' })
        .toString(),
    );
    const [alice, bob] = await Promise.all([peers.cosignKeys('alice'), peers.cosignKeys('bob')]);
    const repository = 'rekor/app';
    const image = await pushImage(client, repository, { tag: 'v1', content: 'rekor' });
    const signed = await peers.ok(
      'cosign',
      [
        'sign',
        '--key',
        alice.key,
        '--rekor-url',
        tlog.baseUrl,
        '-y',
        ...COSIGN_LOOPBACK,
        `${registry.host}/${repository}@${image.digest}`,
      ],
      { COSIGN_PASSWORD: '', SIGSTORE_REKOR_PUBLIC_KEY: rekorKey },
    );
    expect(signed.stderr).toMatch(/tlog entry created with index: \d+/);
    const sig = parseImageManifest(
      (await client.getManifest(repository, digestTag(image.digest, '.sig'))).json,
    );
    const annotation = sig?.layers[0]?.annotations?.[ANNOTATION.rekorBundle] ?? '';
    const rekor = JSON.parse(annotation) as {
      SignedEntryTimestamp: string;
      Payload: { body: string };
    };
    expect(rekor.SignedEntryTimestamp).toMatch(/^[A-Za-z0-9+/=]+$/);
    const body = JSON.parse(Buffer.from(rekor.Payload.body, 'base64').toString()) as {
      kind: string;
      spec: { data: { hash: { value: string } } };
    };
    expect(body.kind).toBe('hashedrekord');

    const trust = (pub: string) =>
      settingsFor(
        policyOf(`repositories:
  - match: "rekor/**"
    signatures: { required: true, keys: [{ name: k, publicKey: ${JSON.stringify(readFileSync(pub, 'utf8'))} }] }
`),
        { registry: registry.host, repository },
      ).signatures;
    const verifier = new RegistrySignatureVerifier({
      clientFor: () => client,
      keys: new KeyResolver(),
    });
    const facts = {
      key: { registry: registry.host, repository, digest: image.digest },
      tags: ['v1'],
    };
    await expect(verifier.verify(facts, trust(alice.pub))).resolves.toEqual({
      status: 'verified',
      format: 'cosign-legacy',
      signer: 'k',
    });
    const other = await verifier.verify(facts, trust(bob.pub));
    expect(other).toMatchObject({
      status: 'invalid',
      reason: expect.stringMatching(/KEY_UNTRUSTED/),
    });
  });
});
