/**
 * Bundle verifications per second, keyed and keyless, against the floor: a bare
 * crypto.verify of the same signature with the same key. Measured side by side,
 * interleaved in rounds, in one run.
 */
import { createPublicKey, verify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { bundleFromJSON, bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { FileSigner, generatePrivateKeyPem } from '../shared/adapters/local/file-signer';
import { preAuthEncoding, signDsseBundle } from '../shared/adapters/sigstore/bundles';
import { type VerificationTrust, verifyBundleWithTrust } from '../shared/adapters/sigstore/verify';
import { IN_TOTO_PAYLOAD_TYPE } from '../shared/domain/attestation';
import { startMockSigstore } from '../test/support/sigstore-mock';
import { fmt } from './support/measure';

/** Operations per second of `fn`, run for about `ms` milliseconds. */
function opsPerSecond(fn: () => void, ms: number): number {
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    elapsed = performance.now() - start;
  }
  return (n * 1000) / elapsed;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

export async function run(args: string[] = []): Promise<void> {
  const ms = Number(args[0] ?? 300);
  const rounds = 5;
  const payload = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [],
      predicate: { x: 'y'.repeat(512) },
    }),
  );

  // keyed: our DSSE attestation bundle, verified with the public key
  const signer = new FileSigner(generatePrivateKeyPem());
  const keyedJson = await signDsseBundle(payload, IN_TOTO_PAYLOAD_TYPE, signer);
  const keyedKey = createPublicKey(await signer.publicKeyPem());
  const keyedPae = preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, payload);
  const keyedSig = Buffer.from(keyedJson.dsseEnvelope?.signatures[0]?.sig ?? '', 'base64');
  const keyedTrust: VerificationTrust = {
    keys: [{ name: 'watcher', publicKeyPem: await signer.publicKeyPem() }],
    keyless: [],
  };

  // keyless: a Fulcio certificate + Rekor entry from sigstore's mock services (loopback)
  const sigstore = await startMockSigstore();
  const identity = {
    issuer: 'https://token.actions.githubusercontent.com',
    subject: 'https://github.com/acme/app/.github/workflows/ci.yml@refs/heads/main',
  };
  const keylessBundle = await sigstore.signMessage(payload, identity);
  await sigstore.stop();
  const keylessJson: SerializedBundle = bundleToJSON(keylessBundle);
  const keylessTrust: VerificationTrust = {
    keys: [],
    keyless: [{ issuer: identity.issuer, subject: 'https://github.com/acme/*' }],
    trustedRoot: sigstore.trustedRoot,
  };
  const content = keylessBundle.verificationMaterial.content;
  const leaf =
    content.$case === 'x509CertificateChain'
      ? content.x509CertificateChain.certificates[0]?.rawBytes
      : undefined;
  const { X509Certificate } = await import('node:crypto');
  const keylessKey = new X509Certificate(Buffer.from(leaf ?? [])).publicKey;
  const keylessSig =
    keylessBundle.content.$case === 'messageSignature'
      ? keylessBundle.content.messageSignature.signature
      : Buffer.alloc(0);

  const cases = {
    'floor (crypto.verify, keyed signature)': () => verify('sha256', keyedPae, keyedKey, keyedSig),
    'keyed bundle (parse + verify)': () =>
      verifyBundleWithTrust(bundleFromJSON(keyedJson), keyedTrust),
    'floor (crypto.verify, keyless signature)': () =>
      verify('sha256', payload, keylessKey, keylessSig),
    'keyless bundle (parse + chain + SCT + SET + identity)': () =>
      verifyBundleWithTrust(bundleFromJSON(keylessJson), keylessTrust, { bytes: payload }),
  };
  for (const fn of Object.values(cases))
    if (fn() === false) throw new Error('a benchmark case does not verify');
  const results = new Map<string, number[]>(Object.keys(cases).map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, fn] of Object.entries(cases)) results.get(name)?.push(opsPerSecond(fn, ms));
  }
  const rate = (name: keyof typeof cases) => median(results.get(name) ?? []);
  for (const name of Object.keys(cases) as (keyof typeof cases)[]) {
    console.log(`${name.padEnd(56)} ${fmt(rate(name), 0).padStart(8)} verifications/s`);
  }
  const keyed =
    rate('floor (crypto.verify, keyed signature)') / rate('keyed bundle (parse + verify)');
  const keyless =
    rate('floor (crypto.verify, keyless signature)') /
    rate('keyless bundle (parse + chain + SCT + SET + identity)');
  console.log(
    `ratio keyed bundle = ${fmt(keyed)}x the floor's time per verification; keyless = ${fmt(keyless)}x (median of ${rounds} interleaved rounds of ${ms} ms)`,
  );
}
