import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { ANNOTATION, legacySignatureBundle } from '../../shared/adapters/sigstore/cosign-legacy';
import { diffIds, explainUnhinted } from '../../shared/adapters/sigstore/unhinted';
import { keySignedDigest, type TrustedKey } from '../../shared/adapters/sigstore/verify';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();

function p256(name: string) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { trusted: { name, publicKeyPem: pem(publicKey) } as TrustedKey, privateKey };
}

const [a, b, c] = [p256('a'), p256('b'), p256('c')];
const ed = generateKeyPairSync('ed25519').publicKey;
const keys: TrustedKey[] = [a.trusted, { name: 'ed', publicKeyPem: pem(ed) }, b.trusted, c.trusted];

const original = Buffer.from('{"critical":{"image":{"docker-manifest-digest":"sha256:1"}}}');
const changed = Buffer.from('{"critical":{"image":{"docker-manifest-digest":"sha256:2"}}}');
const signedByC = sign('sha256', original, c.privateKey);

describe('keySignedDigest: which trusted key signed a digest, at most `limit` tried', () => {
  it('finds the signer among P-256 keys, skipping others, within the limit only', async () => {
    expect((await keySignedDigest(signedByC, sha256(original), keys, 4))?.name).toBe('c');
    await expect(keySignedDigest(signedByC, sha256(original), keys, 3)).resolves.toBeUndefined();
    await expect(keySignedDigest(signedByC, sha256(changed), keys, 4)).resolves.toBeUndefined();
  });
});

describe('explainUnhinted: a changed .sig payload told apart from a wrong key', () => {
  const candidate = (recorded: string | undefined) => ({
    bundle: legacySignatureBundle({
      payload: changed,
      annotations: { [ANNOTATION.signature]: signedByC.toString('base64') },
    }),
    artifact: { bytes: changed },
    recordedDigest: async () => recorded,
  });
  const recorded = `sha256:${sha256(original).toString('hex')}`;
  const actual = `sha256:${sha256(changed).toString('hex')}`;

  it('names the trusted key that signed the recorded digest', async () => {
    const budget = { tries: 16 };
    const error = await explainUnhinted(candidate(recorded), keys, budget);
    expect(error).toMatchObject({
      code: 'SIGNATURE_INVALID',
      message: `the payload was changed after signing: c signed ${recorded} (recorded in the .sig config), the layer now holds ${actual}`,
    });
    expect(budget.tries).toBe(12);
  });

  it('explains nothing without evidence: no record, the same digest, an untrusted signer', async () => {
    expect(await explainUnhinted(candidate(undefined), keys, { tries: 16 })).toBeUndefined();
    expect(await explainUnhinted(candidate(actual), keys, { tries: 16 })).toBeUndefined();
    expect(await explainUnhinted(candidate('sha256:zz'), keys, { tries: 16 })).toBeUndefined();
    expect(
      await explainUnhinted(candidate(recorded), [a.trusted, b.trusted], { tries: 16 }),
    ).toBeUndefined();
  });

  it('spends a per-image budget of tries: once spent, nothing more is tried', async () => {
    const budget = { tries: 5 };
    expect(await explainUnhinted(candidate(recorded), keys, budget)).toBeDefined();
    expect(budget.tries).toBe(1);
    // one try left: only the first key (a) is tried, so c is not found
    expect(await explainUnhinted(candidate(recorded), keys, budget)).toBeUndefined();
    expect(budget.tries).toBe(0);
    expect(await explainUnhinted(candidate(recorded), keys, budget)).toBeUndefined();
  });
});

describe('diffIds', () => {
  it('reads rootfs.diff_ids, or nothing', () => {
    const config = { rootfs: { type: 'layers', diff_ids: ['sha256:aa', 7, 'sha256:bb'] } };
    expect(diffIds(Buffer.from(JSON.stringify(config)))).toEqual(['sha256:aa', 'sha256:bb']);
    expect(diffIds(Buffer.from('not json'))).toEqual([]);
    expect(diffIds(Buffer.from('{"rootfs":{"diff_ids":"x"}}'))).toEqual([]);
    expect(diffIds(Buffer.from('null'))).toEqual([]);
  });
});
