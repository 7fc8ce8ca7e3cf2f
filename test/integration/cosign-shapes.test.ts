import { bundleFromJSON } from '@sigstore/bundle';
import { FileSigner, generatePrivateKeyPem } from '../../shared/adapters/local/file-signer';
import { RegistryClient } from '../../shared/adapters/oci/client';
import { readAttestations, verifyAttestation } from '../../shared/adapters/sigstore/attestations';
import { IN_TOTO_STATEMENT_V01, VULN_PREDICATE_TYPE } from '../../shared/domain/attestation';
import {
  cosignBundle,
  cosignEnvelope,
  cosignStatement,
  pushBundleReferrer,
  pushCosignAttestation,
  pushCosignBundleReferrer,
} from '../support/cosign';
import { pushImage } from '../support/oci-images';
import { type LocalRegistry, startRegistry } from '../support/registry';

/** Attestations shaped exactly as cosign 2.5 writes them (see test/support/cosign.ts). */
describe('attestations as cosign 2.5 writes them', () => {
  let registry: LocalRegistry;
  let client: RegistryClient;
  const signer = new FileSigner(generatePrivateKeyPem());
  let trust: { keys: { name: string; publicKeyPem: string }[]; keyless: [] };
  let count = 0;

  beforeAll(async () => {
    registry = await startRegistry();
    client = new RegistryClient({ registry: registry.host });
    trust = { keys: [{ name: 'ci', publicKeyPem: await signer.publicKeyPem() }], keyless: [] };
  });
  afterAll(async () => registry.stop());

  async function newImage() {
    const repository = `cosign/app${++count}`;
    const image = await pushImage(client, repository, { tag: 'v1', content: `c ${count}` });
    const key = { repository, digest: image.digest };
    const statement = cosignStatement(
      `${registry.host}/${repository}`,
      image.digest,
      VULN_PREDICATE_TYPE,
      { scanner: { result: { verdict: 'PASS' } } },
    );
    return { repository, image, key, statement };
  }

  async function verified(key: { repository: string; digest: string }) {
    const read = await readAttestations(client, key, VULN_PREDICATE_TYPE);
    return read.map((a) => {
      const { statement, signer: by } = verifyAttestation(a, key.digest, trust);
      return { format: a.format, type: statement._type, signer: by.signer };
    });
  }

  describe('in-toto Statement v0.1 (cosign attest, attest-blob)', () => {
    it('reads and verifies a legacy .att layer (cosign attest --key)', async () => {
      const { repository, image, key, statement } = await newImage();
      const envelope = await cosignEnvelope(statement, signer);
      await pushCosignAttestation(client, repository, image, envelope, VULN_PREDICATE_TYPE);
      await expect(verified(key)).resolves.toEqual([
        { format: 'cosign-legacy', type: IN_TOTO_STATEMENT_V01, signer: 'ci' },
      ]);
    });

    it('reads and verifies a bundle referrer (cosign attest --new-bundle-format)', async () => {
      const { repository, image, key, statement } = await newImage();
      const bundle = bundleFromJSON(JSON.parse((await cosignBundle(statement, signer)).toString()));
      await pushBundleReferrer(client, repository, image, bundle, VULN_PREDICATE_TYPE);
      await expect(verified(key)).resolves.toEqual([
        { format: 'sigstore-bundle', type: IN_TOTO_STATEMENT_V01, signer: 'ci' },
      ]);
    });
  });

  it('finds a bundle referrer whose fallback index entry says nothing (go-containerregistry)', async () => {
    const { repository, image, key, statement } = await newImage();
    const bundle = await cosignBundle(statement, signer);
    await pushCosignBundleReferrer(client, repository, image, bundle, VULN_PREDICATE_TYPE);
    await expect(verified(key)).resolves.toEqual([
      { format: 'sigstore-bundle', type: IN_TOTO_STATEMENT_V01, signer: 'ci' },
    ]);
  });

  it("reads a changed payload under cosign's base64 key hint as SIGNATURE_INVALID", async () => {
    const { repository, image, key, statement } = await newImage();
    const json = JSON.parse((await cosignBundle(statement, signer)).toString());
    const changed = statement.toString().replace('"PASS"', '"FAIL"');
    json.dsseEnvelope.payload = Buffer.from(changed).toString('base64');
    await pushCosignBundleReferrer(
      client,
      repository,
      image,
      Buffer.from(JSON.stringify(json)),
      VULN_PREDICATE_TYPE,
    );
    const [read] = await readAttestations(client, key, VULN_PREDICATE_TYPE);
    expect(read && (() => verifyAttestation(read, key.digest, trust))).toThrow(
      expect.objectContaining({ code: 'SIGNATURE_INVALID' }),
    );
  });
});
