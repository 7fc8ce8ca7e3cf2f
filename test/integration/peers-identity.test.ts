import { readFileSync } from 'node:fs';
import { RegistryClient } from '../../shared/adapters/oci/client';
import { RegistrySignatureVerifier } from '../../shared/adapters/sigstore/image-signatures';
import { KeyResolver } from '../../shared/adapters/sigstore/trust';
import type { ImageFacts } from '../../shared/domain/image-facts';
import { settingsFor } from '../../shared/domain/policy';
import type { SignatureResult } from '../../shared/domain/verdict';
import { policyOf } from '../support/builders';
import { pushImage } from '../support/oci-images';
import { COSIGN_LOOPBACK, Peers } from '../support/peers';
import { type LocalRegistry, startRegistry } from '../support/registry';

type Rule = 'ignore' | 'repository' | 'exact';

/**
 * signatures.identity against real signers: cosign signs the repository alone (or whatever
 * --sign-container-identity says), skopeo the tag it copied; `cosign copy` moves an image
 * and its signature to another repository.
 */
describe('peers sign for an identity, signatures.identity judges it', () => {
  let registry: LocalRegistry;
  let client: RegistryClient;
  let peers: Peers;
  let verifier: RegistrySignatureVerifier;
  let cosign: { key: string; pem: string };
  let skopeo: { key: string; passphrase: string; pem: string };
  let count = 0;

  beforeAll(async () => {
    registry = await startRegistry();
    client = new RegistryClient({ registry: registry.host });
    verifier = new RegistrySignatureVerifier({ clientFor: () => client, keys: new KeyResolver() });
    peers = new Peers();
    const [c, s] = await Promise.all([peers.cosignKeys('ci'), peers.skopeoKeys('skopeo')]);
    cosign = { key: c.key, pem: readFileSync(c.pub, 'utf8') };
    skopeo = { ...s, pem: readFileSync(s.pub, 'utf8') };
  });
  afterAll(async () => {
    await registry.stop();
    peers.stop();
  });

  /** What the policy gives `ident/*` under each rule, read from YAML as the evaluator does. */
  function trust(identity: Rule) {
    const keys = [
      { name: 'ci', publicKey: cosign.pem },
      { name: 'skopeo', publicKey: skopeo.pem },
    ].map((k) => `{ name: ${k.name}, publicKey: ${JSON.stringify(k.publicKey)} }`);
    const policy = policyOf(`repositories:
  - match: "ident/*"
    signatures: { required: true, identity: ${identity}, keys: [${keys.join(', ')}] }
`);
    return settingsFor(policy, { registry: registry.host, repository: 'ident/x' }).signatures;
  }

  async function judged(facts: ImageFacts): Promise<Record<Rule, SignatureResult>> {
    const out: Partial<Record<Rule, SignatureResult>> = {};
    for (const rule of ['ignore', 'repository', 'exact'] as const)
      out[rule] = await verifier.verify(facts, trust(rule));
    return out as Record<Rule, SignatureResult>;
  }

  async function newImage(repository = `ident/app${++count}`, content = `identity ${count}`) {
    const image = await pushImage(client, repository, { tag: 'v1', content });
    const facts: ImageFacts = {
      key: { registry: registry.host, repository, digest: image.digest },
      tags: ['v1'],
    };
    return { repository, facts, ref: `${registry.host}/${repository}@${image.digest}` };
  }

  const cosignSign = (ref: string, ...extra: string[]) =>
    peers.ok(
      'cosign',
      ['sign', '--key', cosign.key, '--tlog-upload=false', '-y', ...extra, ...COSIGN_LOOPBACK, ref],
      { COSIGN_PASSWORD: '' },
    );

  const statuses = (results: Record<Rule, SignatureResult>) => ({
    ignore: results.ignore.status,
    repository: results.repository.status,
    exact: results.exact.status,
  });

  it('cosign signs for another repository (--sign-container-identity): refused under repository and exact, accepted under ignore', async () => {
    const { facts, ref } = await newImage();
    await cosignSign(ref, '--sign-container-identity', 'evil.example/other:v9');
    const results = await judged(facts);
    expect(statuses(results)).toEqual({
      ignore: 'verified',
      repository: 'invalid',
      exact: 'invalid',
    });
    expect(results.ignore).toMatchObject({ signer: 'ci', format: 'cosign-legacy' });
    for (const rule of ['repository', 'exact'] as const) {
      expect(results[rule].reason).toMatch(
        new RegExp(
          `REFERENCE_MISMATCH: signed by ci, but signed for evil.example/other:v9, not for repository ${registry.host.replace(/\./g, '\\.')}/${facts.key.repository}`,
        ),
      );
    }
  });

  it("cosign's default identity (the repository alone) passes repository, not exact", async () => {
    const { facts, ref } = await newImage();
    await cosignSign(ref);
    const results = await judged(facts);
    expect(statuses(results)).toEqual({
      ignore: 'verified',
      repository: 'verified',
      exact: 'invalid',
    });
    expect(results.exact.reason).toMatch(/REFERENCE_MISMATCH: .*repository .* only/);
  });

  it('cosign signs the tag it names: exact passes for an image carrying that tag only', async () => {
    const { facts, ref } = await newImage();
    await cosignSign(
      ref,
      '--sign-container-identity',
      `${registry.host}/${facts.key.repository}:v1`,
    );
    expect(statuses(await judged(facts))).toEqual({
      ignore: 'verified',
      repository: 'verified',
      exact: 'verified',
    });
    // the same digest judged after v1 moved away (tags now: v2)
    const moved = statuses(await judged({ ...facts, tags: ['v2'] }));
    expect(moved).toEqual({ ignore: 'verified', repository: 'verified', exact: 'invalid' });
  });

  it('skopeo signs the tag it copied: exact passes', async () => {
    const { facts } = await newImage();
    const tagged = `docker://${registry.host}/${facts.key.repository}:v1`;
    await peers.ok('skopeo', [
      ...peers.skopeoConfig(registry.host),
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--preserve-digests',
      '--sign-by-sigstore-private-key',
      skopeo.key,
      '--sign-passphrase-file',
      skopeo.passphrase,
      tagged,
      tagged,
    ]);
    const results = await judged(facts);
    expect(statuses(results)).toEqual({
      ignore: 'verified',
      repository: 'verified',
      exact: 'verified',
    });
    expect(results.exact.signer).toBe('skopeo');
  });

  it('`cosign copy` moves an image and its signature to another repository: refused there under repository', async () => {
    const source = await newImage();
    await cosignSign(source.ref);
    const target = `ident/copy${count}`;
    await peers.ok('cosign', [
      'copy',
      ...COSIGN_LOOPBACK,
      source.ref,
      `${registry.host}/${target}:v1`,
    ]);
    const copied: ImageFacts = {
      ...source.facts,
      key: { ...source.facts.key, repository: target },
    };
    // the copy has the signature, byte for byte: only its identity tells it apart
    const results = await judged(copied);
    expect(statuses(results)).toEqual({
      ignore: 'verified',
      repository: 'invalid',
      exact: 'invalid',
    });
    expect(results.repository.reason).toMatch(
      new RegExp(
        `signed for ${source.facts.key.registry.replace(/\./g, '\\.')}/${source.repository},`,
      ),
    );
    // and the original still passes where it was signed
    expect(statuses(await judged(source.facts)).repository).toBe('verified');
  });
});
