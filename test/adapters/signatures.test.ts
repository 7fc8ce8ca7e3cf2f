import { createHash, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { bundleFromJSON } from '@sigstore/bundle';
import { mockClient } from 'aws-sdk-client-mock';
import { loadFixture } from '../../events';
import { ECR_SCANNER_DOCS } from '../../shared/adapters/aws/ecr-findings';
import { SqsAttestationRequests } from '../../shared/adapters/aws/sqs-attestation-requests';
import { FileSigner, generatePrivateKeyPem } from '../../shared/adapters/local/file-signer';
import { parseChallenge } from '../../shared/adapters/oci/auth';
import { EcrCredentials } from '../../shared/adapters/oci/ecr-auth';
import { keyHint, signDsseBundle, signMessageBundle } from '../../shared/adapters/sigstore/bundles';
import {
  checkSimpleSigningPayload,
  legacyAnnotations,
  legacySignatureBundle,
  simpleSigningPayload,
  tlogEntryFromRekorBundle,
} from '../../shared/adapters/sigstore/cosign-legacy';
import { verifyPrehashedP256 } from '../../shared/adapters/sigstore/prehashed';
import { KeyResolver } from '../../shared/adapters/sigstore/trust';
import { identityMatches, verifyBundleWithTrust } from '../../shared/adapters/sigstore/verify';
import { signaturePortsFromEnvironment } from '../../shared/composition/signatures';
import {
  needsAttestation,
  parseStatement,
  statementCovers,
  VULN_PREDICATE_TYPE,
  verdictStatement,
} from '../../shared/domain/attestation';
import { evaluate } from '../../shared/domain/evaluate';
import type { VerdictRecord } from '../../shared/domain/verdict-record';
import { draftFrom, planWrite } from '../../shared/domain/verdict-record';
import { completeScan, digestOf, finding, keyOf, policyOf } from '../support/builders';

function recordAt(
  at: string,
  severity: 'LOW' | 'CRITICAL' = 'LOW',
  previous?: VerdictRecord,
): VerdictRecord {
  const key = keyOf('prod/api');
  const scan = completeScan([finding('CVE-2026-1', severity)]);
  const evaluation = evaluate({ image: key, scan, policy: policyOf(), now: new Date(at) });
  const { findings: _f, ...summary } = scan;
  return planWrite(
    previous,
    draftFrom({ key, tags: ['1.0'] }, summary, evaluation, undefined, previous),
  ).record;
}

describe('verdict statement (in-toto v1, cosign vuln predicate)', () => {
  const record = recordAt('2026-11-23T10:00:00Z');

  it('names the repository and digest and carries the verdict in scanner.result', () => {
    const statement = verdictStatement(record, '1.2.3');
    expect(statement).toMatchObject({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: `${record.registry}/prod/api`, digest: { sha256: digestOf(1).slice(7) } }],
      predicateType: VULN_PREDICATE_TYPE,
      predicate: {
        scanner: {
          version: 'registry-watcher/1.2.3 ecr-basic',
          result: {
            verdict: 'PASS',
            maxSeverity: 'LOW',
            policyHash: record.policyHash,
            evaluatedAt: record.evaluatedAt,
          },
        },
        metadata: {
          scanStartedOn: '2026-11-22T00:00:00.000Z',
          scanFinishedOn: '2026-11-22T00:00:00.000Z',
        },
      },
    });
    // The scanner's documentation comes from its adapter; the domain knows no scanner.
    expect(statement.predicate.scanner.uri).toBe('ecr-basic');
    const described = verdictStatement(record, '1.2.3', ECR_SCANNER_DOCS).predicate.scanner;
    expect([described.uri, described.db.uri]).toEqual([
      'https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-basic.html',
      'https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-basic.html',
    ]);
    const parsed = parseStatement(Buffer.from(JSON.stringify(statement)));
    expect(parsed && statementCovers(parsed, record.digest)).toBe(true);
    expect(parsed && statementCovers(parsed, digestOf(2))).toBe(false);
  });

  it.each([
    ['not JSON', 'nope'],
    [
      'another _type',
      JSON.stringify({ _type: 'x', subject: [{ name: 'a', digest: {} }], predicateType: 'p' }),
    ],
    [
      'no subject',
      JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'p' }),
    ],
  ])('parseStatement rejects %s', (_name, text) => {
    expect(parseStatement(Buffer.from(text))).toBeUndefined();
  });

  it('parseStatement reads what cosign 2.x writes: in-toto Statement v0.1', () => {
    const v01 = {
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: VULN_PREDICATE_TYPE,
      subject: [{ name: 'r.example/app', digest: { sha256: digestOf(1).slice(7) } }],
      predicate: {},
    };
    const parsed = parseStatement(Buffer.from(JSON.stringify(v01)));
    expect(parsed?._type).toBe('https://in-toto.io/Statement/v0.1');
    expect(parsed && statementCovers(parsed, digestOf(1))).toBe(true);
  });
});

describe('needsAttestation', () => {
  const pass = recordAt('2026-11-23T10:00:00Z');
  const attested = (record: VerdictRecord, at: string): VerdictRecord => ({
    ...record,
    attestation: { digest: digestOf('a'), attestedAt: at },
  });
  const failed = recordAt(
    '2026-11-23T12:00:00Z',
    'CRITICAL',
    attested(pass, '2026-11-23T10:00:00Z'),
  );

  it.each<[string, VerdictRecord, string, boolean]>([
    ['never attested', pass, '2026-11-23T10:00:00Z', true],
    [
      'attested, same verdict, 1 h later',
      attested(pass, '2026-11-23T10:00:00Z'),
      '2026-11-23T11:00:00Z',
      false,
    ],
    [
      'attested, same verdict, 24 h later',
      attested(pass, '2026-11-23T10:00:00Z'),
      '2026-11-24T10:00:00Z',
      true,
    ],
    ['verdict changed after the attestation', failed, '2026-11-23T12:00:00Z', true],
    [
      'verdict changed, then attested',
      attested(failed, '2026-11-23T12:00:00Z'),
      '2026-11-23T13:00:00Z',
      false,
    ],
    [
      'PENDING, nothing to supersede',
      { ...pass, verdict: 'PENDING' },
      '2026-11-23T10:00:00Z',
      false,
    ],
    [
      'deleted',
      { ...attested(pass, '2026-11-01T00:00:00Z'), deletedAt: '2026-11-23T00:00:00Z' },
      '2026-11-23T10:00:00Z',
      false,
    ],
  ])('%s → %s', (_name, record, now, expected) => {
    expect(needsAttestation(record, new Date(now))).toBe(expected);
  });

  it('honours a configured refresh interval', () => {
    expect(
      needsAttestation(
        attested(pass, '2026-11-23T10:00:00Z'),
        new Date('2026-11-23T11:00:00Z'),
        '1h',
      ),
    ).toBe(true);
  });
});

describe('keyless identity matching (cosign semantics)', () => {
  const identity = {
    issuer: 'https://token.actions.githubusercontent.com',
    subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1',
  };
  it.each([
    [{ issuer: identity.issuer, subject: 'https://github.com/acme/*' }, true],
    [
      {
        issuer: identity.issuer,
        subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v?',
      },
      true,
    ],
    [{ issuer: identity.issuer, subject: 'https://github.com/other/*' }, false],
    [{ issuer: 'https://accounts.google.com', subject: 'https://github.com/acme/*' }, false],
    [{ issuer: identity.issuer, subjectRegExp: '^https://github\\.com/acme/app/' }, true],
    [{ issuer: identity.issuer, subjectRegExp: '^https://github\\.com/acme/web/' }, false],
    [{ issuer: identity.issuer }, true],
  ])('%j → %s', (allowed, expected) => {
    expect(identityMatches(identity, allowed)).toBe(expected);
  });
});

describe('ECDSA P-256 over a given digest', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = randomBytes(100);
  const digest = createHash('sha256').update(data).digest();
  const signature = sign('sha256', data, privateKey);

  it('accepts the signature of the digest and nothing else', () => {
    expect(verifyPrehashedP256(publicKey, digest, signature)).toBe(true);
    expect(verifyPrehashedP256(publicKey, randomBytes(32), signature)).toBe(false);
    expect(verifyPrehashedP256(publicKey, digest, Buffer.from('3006020101020101', 'hex'))).toBe(
      false,
    );
    expect(verifyPrehashedP256(publicKey, digest, Buffer.from('garbage'))).toBe(false);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    expect(verifyPrehashedP256(p384, digest, signature)).toBe(false);
  });

  it('agrees with crypto.verify on many signatures (r and s of every DER length)', () => {
    for (let i = 0; i < 25; i++) {
      const message = randomBytes(i + 1);
      const sig = sign('sha256', message, privateKey);
      const hash = createHash('sha256').update(message).digest();
      expect(verifyPrehashedP256(publicKey, hash, sig)).toBe(true);
      const flipped = Buffer.from(sig);
      flipped[flipped.length - 1] = (flipped.at(-1) ?? 0) ^ 1;
      expect(verifyPrehashedP256(publicKey, hash, flipped)).toBe(false);
    }
  });

  it('refuses another P-256 key', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(verifyPrehashedP256(other, digest, signature)).toBe(false);
  });

  // What crypto.verify takes over the bytes, the digest path takes: a high S (KMS and Node do
  // not normalise S) yes, a DER integer with a needless leading zero no.
  const N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
  const integer = (value: bigint, pad = false) => {
    let bytes = Buffer.from(value.toString(16).padStart(64, '0'), 'hex');
    while (bytes.length > 1 && bytes[0] === 0 && ((bytes[1] ?? 0) & 0x80) === 0) {
      bytes = bytes.subarray(1);
    }
    if ((bytes[0] ?? 0) & 0x80 || pad) bytes = Buffer.concat([Buffer.of(0), bytes]);
    return Buffer.concat([Buffer.of(0x02, bytes.length), bytes]);
  };
  const der = (r: Buffer, s: Buffer) => Buffer.concat([Buffer.of(0x30, r.length + s.length), r, s]);
  const rsOf = (sig: Buffer) => {
    const rLength = sig[3] ?? 0;
    const r = BigInt(`0x${sig.subarray(4, 4 + rLength).toString('hex')}`);
    const s = BigInt(`0x${sig.subarray(6 + rLength).toString('hex')}`);
    return { r, s };
  };

  it('takes S and N − S alike, as crypto.verify does', () => {
    const seen = new Set<boolean>();
    for (let i = 0; i < 16; i++) {
      const message = randomBytes(i + 1);
      const hash = createHash('sha256').update(message).digest();
      const { r, s } = rsOf(sign('sha256', message, privateKey));
      const mirrored = der(integer(r), integer(N - s));
      seen.add(N - s > N / 2n);
      expect(verify('sha256', message, publicKey, mirrored)).toBe(true);
      expect(verifyPrehashedP256(publicKey, hash, mirrored)).toBe(true);
    }
    // Both halves were tried: a high S among them (each try is a coin flip; 2^-15 to miss).
    expect(seen).toEqual(new Set([true, false]));
  });

  it('refuses a DER integer with a needless leading zero, as crypto.verify does', () => {
    for (let i = 0; ; i++) {
      const message = randomBytes(i + 1);
      const { r, s } = rsOf(sign('sha256', message, privateKey));
      if (integer(r)[2] === 0) continue; // r's top bit set: its zero is needed
      const padded = der(integer(r, true), integer(s));
      expect(verify('sha256', message, publicKey, padded)).toBe(false);
      const hash = createHash('sha256').update(message).digest();
      expect(verifyPrehashedP256(publicKey, hash, padded)).toBe(false);
      expect(verifyPrehashedP256(publicKey, hash, der(integer(r), integer(s)))).toBe(true);
      break;
    }
  });
});

describe('WWW-Authenticate challenges', () => {
  it.each([
    ['Basic realm="Registry Realm"', { scheme: 'basic', params: { realm: 'Registry Realm' } }],
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/alpine:pull',
        },
      },
    ],
    [
      'Bearer realm=https://x/token, service=reg',
      { scheme: 'bearer', params: { realm: 'https://x/token', service: 'reg' } },
    ],
  ])('%s', (header, expected) => expect(parseChallenge(header)).toEqual(expected));

  it('reads no challenge from nothing', () => expect(parseChallenge(null)).toBeUndefined());
});

describe('cosign legacy layers', () => {
  const signer = new FileSigner(generatePrivateKeyPem());
  const digest = digestOf(7);
  const payload = simpleSigningPayload('registry.example/app', digest);

  it('round-trips a keyed signature through the layer annotations', async () => {
    const bundle = bundleFromJSON(await signMessageBundle(payload, signer));
    const annotations = legacyAnnotations(bundle);
    expect(Object.keys(annotations)).toEqual(['dev.cosignproject.cosign/signature']);
    const restored = legacySignatureBundle({ payload, annotations });
    const trust = { keys: [{ name: 'k', publicKeyPem: await signer.publicKeyPem() }], keyless: [] };
    expect(verifyBundleWithTrust(restored, trust, { bytes: payload })).toEqual({ signer: 'k' });
  });

  it('checks the payload names the image digest', () => {
    expect(() => checkSimpleSigningPayload(payload, digest)).not.toThrow();
    expect(() => checkSimpleSigningPayload(payload, digestOf(8))).toThrow(
      expect.objectContaining({ code: 'DIGEST_MISMATCH' }),
    );
    expect(() => checkSimpleSigningPayload(Buffer.from('{'), digest)).toThrow(
      expect.objectContaining({ code: 'BUNDLE_MALFORMED' }),
    );
  });

  it('refuses a layer without a signature and a Rekor bundle that is not JSON', () => {
    expect(() => legacySignatureBundle({ payload, annotations: {} })).toThrow(
      /no dev.cosignproject.cosign\/signature/,
    );
    expect(() => tlogEntryFromRekorBundle('{')).toThrow(/not JSON/);
  });
});

describe('ECR registry credentials', () => {
  const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
  const ecr = mockClient(ECRClient);
  beforeEach(() => ecr.reset());
  const response = () => {
    const wire = loadFixture('ecr/get-authorization-token');
    return {
      authorizationData: wire.authorizationData?.map((d) => ({
        ...d,
        expiresAt: new Date((d.expiresAt ?? 0) * 1000),
      })),
    };
  };

  it('decodes the token, caches it, and renews it before expiresAt', async () => {
    ecr.on(GetAuthorizationTokenCommand).resolves(response());
    const expiresAt =
      (loadFixture('ecr/get-authorization-token').authorizationData?.[0]?.expiresAt ?? 0) * 1000;
    let now = expiresAt - 12 * 3_600_000;
    const credentials = new EcrCredentials(REGISTRY, {
      client: new ECRClient({ region: 'eu-west-1' }),
      now: () => now,
    });
    const first = await credentials.credentials();
    expect(first.username).toBe('AWS');
    expect(first.password).toMatch(/^eyJwYXlsb2Fk/);
    now = expiresAt - 20 * 60_000;
    await credentials.credentials();
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(1);
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)[0]?.args[0].input).toEqual({
      registryIds: ['123456789012'],
    });
    now = expiresAt - 10 * 60_000; // inside the refresh margin
    await credentials.credentials();
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(2);
    credentials.invalidate();
    await credentials.credentials();
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(3);
  });

  it('says what to fix when ECR refuses', async () => {
    ecr
      .on(GetAuthorizationTokenCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const credentials = new EcrCredentials(REGISTRY, {
      client: new ECRClient({ region: 'eu-west-1' }),
    });
    await expect(credentials.credentials()).rejects.toThrow(/ecr:GetAuthorizationToken/);
  });

  it('is only for ECR hosts', () => {
    expect(() => new EcrCredentials('ghcr.io')).toThrow(/not an ECR registry host/);
  });
});

describe('signature settings from the environment', () => {
  const kms = new KMSClient({ region: 'eu-west-1' });
  it('verifies by default and attests only when enabled', () => {
    const ports = signaturePortsFromEnvironment({}, { kms });
    expect(ports.signatures).toBeDefined();
    expect(ports.attestor).toBeUndefined();
    expect(ports.attestationRefresh).toBe('24h');
  });

  it('hands attestations to the attestor queue (no signer in evaluate)', () => {
    const ports = signaturePortsFromEnvironment(
      {
        ATTESTATIONS_ENABLED: 'true',
        ATTESTATION_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/attestor',
        ATTESTATION_REFRESH: '12h',
        SIGNATURES_ENABLED: 'false',
      },
      { kms },
    );
    expect(ports).toMatchObject({ attestationRefresh: '12h' });
    expect(ports.attestor).toBeInstanceOf(SqsAttestationRequests);
    expect(ports.signatures).toBeUndefined();
  });

  it.each([
    [{ ATTESTATIONS_ENABLED: 'true' }, /needs ATTESTATION_QUEUE_URL/],
    [{ ATTESTATIONS_ENABLED: 'true', ATTESTATION_KMS_KEY_ID: 'k' }, /needs ATTESTATION_QUEUE_URL/],
    [{ ATTESTATION_REFRESH: 'daily' }, /ATTESTATION_REFRESH: a duration/],
    [{ SIGNATURES_ENABLED: 'yes' }, /SIGNATURES_ENABLED/],
  ])('rejects %j', (env, message) => {
    expect(() => signaturePortsFromEnvironment(env, { kms })).toThrow(message);
  });
});

describe('our DSSE bundles as sigstore-go reads them', () => {
  it("write an empty keyid (a non-empty one must equal sigstore-go's own key id) and keep our hint", async () => {
    const signer = new FileSigner(generatePrivateKeyPem());
    const json = await signDsseBundle(Buffer.from('{}'), 'application/vnd.in-toto+json', signer);
    expect(json.dsseEnvelope?.signatures.map((s) => s.keyid ?? '')).toEqual(['']);
    expect(json.verificationMaterial.publicKey?.hint).toBe(keyHint(await signer.publicKeyPem()));
  });
});

describe('KeyResolver (policy keys)', () => {
  it('THEN a kms: key is fetched once through the KMS client it loads on demand; a PEM key needs no KMS', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kms = mockClient(KMSClient);
    kms.on(GetPublicKeyCommand).resolves({
      PublicKey: publicKey.export({ type: 'spki', format: 'der' }),
      KeySpec: 'ECC_NIST_P256',
    });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const resolver = new KeyResolver(new KMSClient({ region: 'eu-west-1' }));
    const keys = [
      { name: 'release', kms: 'arn:aws:kms:eu-west-1:123456789012:key/k' },
      { name: 'ci', publicKey: pem },
    ];
    const first = await resolver.resolve(keys);
    const again = await resolver.resolve(keys.slice(0, 1));
    expect(first).toEqual([
      { name: 'release', publicKeyPem: pem },
      { name: 'ci', publicKeyPem: pem },
    ]);
    expect(again).toEqual([{ name: 'release', publicKeyPem: pem }]);
    expect(kms.commandCalls(GetPublicKeyCommand).map((c) => c.args[0].input.KeyId)).toEqual([
      'arn:aws:kms:eu-west-1:123456789012:key/k',
    ]);
    kms.restore();
  });
});
