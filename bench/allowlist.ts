/**
 * Build, serialise and sign the allowlist for 100,000 admitted digests, side by side with
 * JSON.stringify of the same data (the floor: any publication must at least serialise it).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { FileSigner, generatePrivateKeyPem } from '../shared/adapters/local/file-signer';
import { sigstoreAllowlistSignatures } from '../shared/adapters/sigstore/allowlist-signatures';
import { signMessageBundle } from '../shared/adapters/sigstore/bundles';
import { type AdmittedImage, buildAllowlist, serialiseAllowlist } from '../shared/domain/allowlist';
import { verifyAllowlist } from '../shared/services/verify-allowlist';
import { fmt, medianMs } from './support/measure';

const DIGESTS = 100_000;
const REPOSITORIES = 1_000;
const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

/** What a registry with CI-tagged builds looks like: most digests one tag, some none, some two. */
function admitted(count: number): AdmittedImage[] {
  return Array.from({ length: count }, (_, i) => {
    const hex = createHash('sha256').update(String(i)).digest('hex');
    const tags =
      i % 5 === 0
        ? []
        : i % 10 === 1
          ? [`1.${i % 97}.${i % 13}`, 'latest']
          : [`git-${hex.slice(0, 7)}`];
    const warn = i % 10 === 3;
    return {
      registry: REGISTRY,
      repository: `team-${i % 50}/service-${i % REPOSITORIES}`,
      digest: `sha256:${hex}`,
      verdict: warn ? 'WARN' : 'PASS',
      tags,
      ...(warn && { expiresAt: '2026-11-30T00:00:00.000Z' }),
    };
  });
}

export async function run(): Promise<void> {
  const images = admitted(DIGESTS);
  const signer = new FileSigner(generatePrivateKeyPem());
  const publicKeyPem = await signer.publicKeyPem();
  const now = new Date('2026-11-23T02:00:00.000Z');
  const options = {
    sequence: 42,
    now,
    validityMs: 86_400_000,
    policyHash: `sha256:${'a'.repeat(64)}`,
  };

  const publish = async () => {
    const document = serialiseAllowlist(buildAllowlist(images, options));
    const bundle = await signMessageBundle(document, signer);
    return { document, bundle };
  };
  const { document, bundle } = await publish();
  const floorBytes = Buffer.byteLength(JSON.stringify(images));
  const gzipped = gzipSync(document).length;

  const floor = await medianMs(() => JSON.stringify(images), 7, 2);
  const build = await medianMs(() => serialiseAllowlist(buildAllowlist(images, options)), 7, 2);
  const whole = await medianMs(publish, 7, 2);
  const verify = await medianMs(
    () =>
      verifyAllowlist(document, bundle, {
        publicKeyPem,
        now,
        signatures: sigstoreAllowlistSignatures,
      }),
    7,
    2,
  );

  const mb = (bytes: number) => `${fmt(bytes / 1_000_000)} MB`;
  console.log(`${DIGESTS.toLocaleString('en')} digests in ${REPOSITORIES} repositories`);
  console.log(`JSON.stringify of the same data (floor)  ${fmt(floor, 1)} ms  ${mb(floorBytes)}`);
  console.log(
    `build + serialise                        ${fmt(build, 1)} ms  (${fmt(build / floor)}x floor)`,
  );
  console.log(
    `build + serialise + sign (bundle)        ${fmt(whole, 1)} ms  (${fmt(whole / floor)}x floor)`,
  );
  console.log(`consumer: verify signature + schema      ${fmt(verify, 1)} ms`);
  console.log(
    `document ${mb(document.length)} raw, ${mb(gzipped)} gzipped (${fmt(document.length / DIGESTS, 1)} bytes per digest)`,
  );
  console.log(
    `ratio publish/JSON.stringify ${fmt(whole / floor)} (${fmt(whole / 1000, 3)} s, ${mb(document.length)} raw; targets <= 2 s, <= 8 MB raw)`,
  );
}
