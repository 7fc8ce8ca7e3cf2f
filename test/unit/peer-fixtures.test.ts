import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBundle, readStatement } from '../../shared/adapters/sigstore/bundles';
import {
  checkSimpleSigningPayload,
  legacyAttestationBundle,
  legacySignatureBundle,
} from '../../shared/adapters/sigstore/cosign-legacy';
import { verifyBundleWithTrust } from '../../shared/adapters/sigstore/verify';
import { statementCovers } from '../../shared/domain/attestation';

/**
 * What real cosign 2.5 and skopeo 1.18 wrote (events/peers/, recorded by record.sh there),
 * read by our code without the tools: a regression net for the formats the peer tests meet.
 */
const dir = join(__dirname, '..', '..', 'events', 'peers');
const bytes = (name: string) => readFileSync(join(dir, name));
const json = <T>(name: string) => JSON.parse(bytes(name).toString('utf8')) as T;

interface SigManifest {
  layers: { mediaType: string; digest: string; annotations: Record<string, string> }[];
}

const imageDigest = `sha256:${createHash('sha256').update(bytes('image.manifest.json')).digest('hex')}`;
const keys = {
  cosign: { name: 'cosign', publicKeyPem: bytes('cosign.pub').toString() },
  skopeo: { name: 'skopeo', publicKeyPem: bytes('skopeo.pub').toString() },
};
const trustOf = (...names: (keyof typeof keys)[]) => ({
  keys: names.map((n) => keys[n]),
  keyless: [],
});

/** The .sig layer at `index` with its payload blob, as our verifier builds it. */
function sigLayer(manifest: string, payloadFile: string, index: number) {
  const layer = json<SigManifest>(manifest).layers[index];
  if (!layer) throw new Error(`${manifest} has no layer ${index}`);
  const payload = bytes(payloadFile);
  expect(`sha256:${createHash('sha256').update(payload).digest('hex')}`).toBe(layer.digest);
  return { layer, payload };
}

describe('peer fixtures (events/peers)', () => {
  it.each([
    ['cosign sign', 'cosign-sign.sig.json', 'cosign-sign.payload.json', 0, 'cosign', 'skopeo'],
    [
      'skopeo copy --sign-by-sigstore-private-key',
      'skopeo-sign.sig.json',
      'skopeo-sign.payload.json',
      1,
      'skopeo',
      'cosign',
    ],
  ] as const)(
    '%s: the .sig layer verifies with its key only, for the recorded image',
    (_, manifest, payloadFile, index, signer, other) => {
      const { layer, payload } = sigLayer(manifest, payloadFile, index);
      expect(layer.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
      expect(() => checkSimpleSigningPayload(payload, imageDigest)).not.toThrow();
      const bundle = () => legacySignatureBundle({ payload, annotations: layer.annotations });
      expect(verifyBundleWithTrust(bundle(), trustOf(signer), { bytes: payload })).toEqual({
        signer,
      });
      expect(() => verifyBundleWithTrust(bundle(), trustOf(other), { bytes: payload })).toThrow(
        expect.objectContaining({ code: 'KEY_UNTRUSTED' }),
      );
    },
  );

  it('skopeo adds its layer beside cosign’s in the same .sig manifest', () => {
    const cosign = json<SigManifest>('cosign-sign.sig.json').layers;
    const both = json<SigManifest>('skopeo-sign.sig.json').layers;
    expect(both).toHaveLength(2);
    expect(both[0]?.digest).toBe(cosign[0]?.digest);
  });

  it('a .sig payload is for the image it names: another digest is refused', () => {
    const { payload } = sigLayer('cosign-sign.sig.json', 'cosign-sign.payload.json', 0);
    expect(() => checkSimpleSigningPayload(payload, `sha256:${'0'.repeat(64)}`)).toThrow(
      expect.objectContaining({ code: 'DIGEST_MISMATCH' }),
    );
  });

  it('cosign sign-blob --new-bundle-format: verifies over blob.json, not over other bytes', () => {
    const bundle = () => parseBundle(json('cosign-sign-blob.sigstore.json'));
    const blob = bytes('blob.json');
    expect(verifyBundleWithTrust(bundle(), trustOf('cosign'), { bytes: blob })).toEqual({
      signer: 'cosign',
    });
    expect(() =>
      verifyBundleWithTrust(bundle(), trustOf('cosign'), { bytes: Buffer.from(`${blob} `) }),
    ).toThrow();
  });

  it('cosign attest (.att): the DSSE layer verifies with cosign.pub; its v0.1 statement is about the image', () => {
    const att = json<SigManifest>('cosign-attest.att.json').layers[0];
    if (!att) throw new Error('no .att layer');
    const payload = bytes('cosign-attest.envelope.json');
    const bundle = legacyAttestationBundle({ payload, annotations: att.annotations });
    expect(verifyBundleWithTrust(bundle, trustOf('cosign'))).toEqual({ signer: 'cosign' });
    if (bundle.content.$case !== 'dsseEnvelope') throw new Error('not a DSSE bundle');
    const statement = readStatement(bundle.content.dsseEnvelope);
    expect(statement).toMatchObject({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://cosign.sigstore.dev/attestation/vuln/v1',
      predicate: { scanner: json<{ scanner: object }>('vuln-predicate.json').scanner },
    });
    expect(statementCovers(statement, imageDigest)).toBe(true);
    expect(() => verifyBundleWithTrust(bundle, trustOf('skopeo'))).toThrow(
      expect.objectContaining({ code: 'KEY_UNTRUSTED' }),
    );
  });
});
