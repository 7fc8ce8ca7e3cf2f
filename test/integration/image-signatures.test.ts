import { type Bundle, bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { FileSigner, generatePrivateKeyPem } from '../../shared/adapters/local/file-signer';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { RegistryClient } from '../../shared/adapters/oci/client';
import { signDsseBundle, signMessageBundle } from '../../shared/adapters/sigstore/bundles';
import { simpleSigningPayload } from '../../shared/adapters/sigstore/cosign-legacy';
import { RegistrySignatureVerifier } from '../../shared/adapters/sigstore/image-signatures';
import { KeyResolver } from '../../shared/adapters/sigstore/trust';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_V1,
} from '../../shared/domain/attestation';
import type { ImageFacts } from '../../shared/domain/image-facts';
import type { SignatureTrust } from '../../shared/domain/policy';
import { evaluateImage } from '../../shared/services/evaluate-image';
import { completeScan, policyOf } from '../support/builders';
import { pushBundleReferrer, pushLegacySignature } from '../support/cosign';
import { startDynalite } from '../support/dynalite';
import { type BuiltImage, pushImage } from '../support/oci-images';
import { type LocalRegistry, startRegistry } from '../support/registry';
import { type MockSigstore, startMockSigstore } from '../support/sigstore-mock';

const CI = {
  issuer: 'https://token.actions.githubusercontent.com',
  subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1',
};
const STRANGER = {
  issuer: 'https://token.actions.githubusercontent.com',
  subject: 'https://github.com/evil/fork/.github/workflows/x.yml@refs/heads/main',
};

describe('image signatures from a real registry', () => {
  let registry: LocalRegistry;
  let sigstore: MockSigstore;
  let client: RegistryClient;
  let verifier: RegistrySignatureVerifier;
  let repoCount = 0;
  const trusted = new FileSigner(generatePrivateKeyPem());
  const untrusted = new FileSigner(generatePrivateKeyPem());
  let trust: SignatureTrust;

  beforeAll(async () => {
    [registry, sigstore] = await Promise.all([startRegistry(), startMockSigstore()]);
    client = new RegistryClient({ registry: registry.host });
    verifier = new RegistrySignatureVerifier({
      clientFor: () => client,
      keys: new KeyResolver(),
      trustedRoot: async () => sigstore.trustedRoot,
    });
    trust = {
      required: true,
      keys: [{ name: 'ci-key', publicKey: await trusted.publicKeyPem() }],
      keyless: [{ issuer: CI.issuer, subject: 'https://github.com/acme/*' }],
    };
  });
  afterAll(async () => Promise.all([registry.stop(), sigstore.stop()]));

  async function newImage(): Promise<{
    repository: string;
    image: BuiltImage;
    facts: ImageFacts;
    payload: Buffer;
  }> {
    const repository = `signed/app${++repoCount}`;
    const image = await pushImage(client, repository, { tag: 'v1', content: `image ${repoCount}` });
    const facts = {
      key: { registry: registry.host, repository, digest: image.digest },
      tags: ['v1'],
    };
    return {
      repository,
      image,
      facts,
      payload: simpleSigningPayload(`${registry.host}/${repository}`, image.digest),
    };
  }

  const roundTrip = (bundle: Bundle) => bundleFromJSON(bundleToJSON(bundle));

  it('reports an image without signatures as unsigned', async () => {
    const { facts } = await newImage();
    await expect(verifier.verify(facts, trust)).resolves.toEqual({ status: 'unsigned' });
  });

  describe('cosign legacy .sig manifests', () => {
    it('verifies a keyed signature', async () => {
      const { repository, image, facts, payload } = await newImage();
      const bundle = bundleFromJSON(await signMessageBundle(payload, trusted));
      await pushLegacySignature(client, repository, image, [{ payload, bundle }]);
      await expect(verifier.verify(facts, trust)).resolves.toEqual({
        status: 'verified',
        format: 'cosign-legacy',
        signer: 'ci-key',
      });
    });

    it('verifies a keyless signature (Fulcio certificate, Rekor bundle annotation)', async () => {
      const { repository, image, facts, payload } = await newImage();
      const bundle = roundTrip(await sigstore.signMessage(payload, CI));
      await pushLegacySignature(client, repository, image, [{ payload, bundle }]);
      await expect(verifier.verify(facts, trust)).resolves.toMatchObject({
        status: 'verified',
        format: 'cosign-legacy',
        identity: CI,
      });
    });

    it('rejects a tampered payload', async () => {
      const { repository, image, facts, payload } = await newImage();
      const bundle = roundTrip(await sigstore.signMessage(payload, CI));
      const tampered = Buffer.from(
        payload.toString().replace('"optional":null', '"optional":{"x":"y"}'),
      );
      await pushLegacySignature(client, repository, image, [{ payload: tampered, bundle }]);
      const result = await verifier.verify(facts, trust);
      expect(result).toMatchObject({ status: 'invalid', format: 'cosign-legacy' });
      expect(result.reason).toMatch(/SIGNATURE_INVALID: .*changed after signing/);
    });

    it('rejects a signature made with another key', async () => {
      const { repository, image, facts, payload } = await newImage();
      const bundle = bundleFromJSON(await signMessageBundle(payload, untrusted));
      await pushLegacySignature(client, repository, image, [{ payload, bundle }]);
      const result = await verifier.verify(facts, trust);
      expect(result.status).toBe('invalid');
      expect(result.reason).toMatch(
        /KEY_UNTRUSTED: signed with a key the policy does not trust \(tried ci-key\)/,
      );
    });

    it('rejects an identity the policy does not trust', async () => {
      const { repository, image, facts, payload } = await newImage();
      const bundle = roundTrip(await sigstore.signMessage(payload, STRANGER));
      await pushLegacySignature(client, repository, image, [{ payload, bundle }]);
      const result = await verifier.verify(facts, trust);
      expect(result.status).toBe('invalid');
      expect(result.reason).toMatch(
        /IDENTITY_MISMATCH: signed by https:\/\/github.com\/evil\/fork/,
      );
    });

    it('rejects a valid signature whose payload names another image digest', async () => {
      const { repository, image, facts } = await newImage();
      const other = simpleSigningPayload(
        `${registry.host}/${repository}`,
        `sha256:${'e'.repeat(64)}`,
      );
      const bundle = bundleFromJSON(await signMessageBundle(other, trusted));
      await pushLegacySignature(client, repository, image, [{ payload: other, bundle }]);
      const result = await verifier.verify(facts, trust);
      expect(result.status).toBe('invalid');
      expect(result.reason).toMatch(/DIGEST_MISMATCH: the signed payload names image sha256:e{64}/);
    });

    it('takes the one good signature among bad ones', async () => {
      const { repository, image, facts, payload } = await newImage();
      const bad = bundleFromJSON(await signMessageBundle(payload, untrusted));
      const good = roundTrip(await sigstore.signMessage(payload, CI));
      await pushLegacySignature(client, repository, image, [
        { payload, bundle: bad },
        { payload, bundle: good },
      ]);
      await expect(verifier.verify(facts, trust)).resolves.toMatchObject({
        status: 'verified',
        identity: CI,
      });
    });
  });

  describe('sigstore bundle referrers (cosign v3)', () => {
    const statementFor = (image: BuiltImage, name: string) =>
      Buffer.from(
        JSON.stringify({
          _type: IN_TOTO_STATEMENT_V1,
          subject: [{ name, digest: { sha256: image.digest.slice(7) } }],
          predicateType: COSIGN_SIGN_PREDICATE_TYPE,
          predicate: {},
        }),
      );

    it('verifies a keyed DSSE signature statement', async () => {
      const { repository, image, facts } = await newImage();
      const bundle = bundleFromJSON(
        await signDsseBundle(statementFor(image, repository), IN_TOTO_PAYLOAD_TYPE, trusted),
      );
      await pushBundleReferrer(client, repository, image, bundle, COSIGN_SIGN_PREDICATE_TYPE);
      await expect(verifier.verify(facts, trust)).resolves.toEqual({
        status: 'verified',
        format: 'sigstore-bundle',
        signer: 'ci-key',
      });
    });

    it('verifies a keyless message signature over the manifest', async () => {
      const { repository, image, facts } = await newImage();
      const bundle = roundTrip(await sigstore.signMessage(image.bytes, CI));
      await pushBundleReferrer(client, repository, image, bundle);
      await expect(verifier.verify(facts, trust)).resolves.toMatchObject({
        status: 'verified',
        format: 'sigstore-bundle',
        identity: CI,
      });
    });

    it('verifies a keyless DSSE statement and rejects it for a stranger identity', async () => {
      const { repository, image, facts } = await newImage();
      const bundle = roundTrip(
        await sigstore.signDsse(statementFor(image, repository), IN_TOTO_PAYLOAD_TYPE, CI),
      );
      await pushBundleReferrer(client, repository, image, bundle, COSIGN_SIGN_PREDICATE_TYPE);
      await expect(verifier.verify(facts, trust)).resolves.toMatchObject({
        status: 'verified',
        identity: CI,
      });
      const strict = {
        ...trust,
        keyless: [{ issuer: CI.issuer, subjectRegExp: '^https://github\\.com/other/' }],
      };
      const result = await verifier.verify(facts, strict);
      expect(result.reason).toMatch(/IDENTITY_MISMATCH/);
    });

    it('rejects a tampered DSSE envelope signed with our key (hint names the key)', async () => {
      const { repository, image, facts } = await newImage();
      const json = await signDsseBundle(
        statementFor(image, repository),
        IN_TOTO_PAYLOAD_TYPE,
        trusted,
      );
      const tampered = statementFor(image, `${repository}-renamed`).toString('base64');
      const bundle = bundleFromJSON({
        ...json,
        dsseEnvelope: { ...json.dsseEnvelope, payload: tampered },
      });
      await pushBundleReferrer(client, repository, image, bundle, COSIGN_SIGN_PREDICATE_TYPE);
      const result = await verifier.verify(facts, trust);
      expect(result.reason).toMatch(/SIGNATURE_INVALID/);
    });

    it('rejects a statement about another image', async () => {
      const { repository, image, facts } = await newImage();
      const other = { ...image, digest: `sha256:${'a'.repeat(64)}` };
      const bundle = bundleFromJSON(
        await signDsseBundle(statementFor(other, repository), IN_TOTO_PAYLOAD_TYPE, trusted),
      );
      await pushBundleReferrer(client, repository, image, bundle, COSIGN_SIGN_PREDICATE_TYPE);
      const result = await verifier.verify(facts, trust);
      expect(result.reason).toMatch(/DIGEST_MISMATCH: the signature is for a{64}/);
    });

    it('needs a trusted root for keyless signatures', async () => {
      const { repository, image, facts } = await newImage();
      await pushBundleReferrer(
        client,
        repository,
        image,
        roundTrip(await sigstore.signMessage(image.bytes, CI)),
      );
      const noRoot = new RegistrySignatureVerifier({
        clientFor: () => client,
        keys: new KeyResolver(),
      });
      const result = await noRoot.verify(facts, trust);
      expect(result.reason).toMatch(/TRUSTED_ROOT_MISSING/);
    });
  });

  it('puts the result into the verdict, and signatures.required decides', async () => {
    const dynamo = await startDynalite();
    try {
      const store = new DynamoDbVerdictStore({
        tableName: await dynamo.newTable(),
        client: dynamo.documents,
      });
      const pem = JSON.stringify(await trusted.publicKeyPem());
      const policy = policyOf(`repositories:
  - match: "signed/**"
    signatures: { required: true, keys: [{ name: ci-key, publicKey: ${pem} }] }
`);
      const world = new MemoryRegistry();
      const unsigned = await newImage();
      const signed = await newImage();
      const bundle = bundleFromJSON(await signMessageBundle(signed.payload, trusted));
      await pushLegacySignature(client, signed.repository, signed.image, [
        { payload: signed.payload, bundle },
      ]);
      // Judged at the test's own instant, on a scan an hour older: fresh on any date.
      const now = new Date();
      const scannedAt = new Date(now.getTime() - 3_600_000).toISOString();
      for (const { facts } of [unsigned, signed]) world.put(facts, completeScan([], scannedAt));
      const options = {
        images: world,
        findings: world,
        store,
        policy,
        signatures: verifier,
        clock: () => now,
      };

      const denied = await evaluateImage({ key: unsigned.facts.key, trigger: 'push' }, options);
      expect(denied.record).toMatchObject({ verdict: 'FAIL', signature: { status: 'unsigned' } });
      expect(denied.record?.reasons).toContainEqual(
        expect.objectContaining({ code: 'SIGNATURE_UNVERIFIED', effect: 'fail' }),
      );
      const admitted = await evaluateImage({ key: signed.facts.key, trigger: 'push' }, options);
      expect(admitted.record).toMatchObject({
        verdict: 'PASS',
        signature: { status: 'verified', signer: 'ci-key', format: 'cosign-legacy' },
      });
      expect((await store.get(signed.facts.key))?.signature?.signer).toBe('ci-key');
    } finally {
      await dynamo.stop();
    }
  });

  it('reports not-checked (not an exception) when the registry refuses access', async () => {
    const locked = await startRegistry({ users: [{ username: 'u', password: 'p' }] });
    try {
      const blind = new RegistrySignatureVerifier({
        clientFor: () => new RegistryClient({ registry: locked.host, retry: { attempts: 1 } }),
        keys: new KeyResolver(),
      });
      const facts = {
        key: { registry: locked.host, repository: 'x/y', digest: `sha256:${'1'.repeat(64)}` },
        tags: [],
      };
      const result = await blind.verify(facts, trust);
      expect(result).toMatchObject({
        status: 'not-checked',
        reason: expect.stringMatching(/unauthorized/),
      });
    } finally {
      await locked.stop();
    }
  });
});
