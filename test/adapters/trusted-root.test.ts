import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { mockClient } from 'aws-sdk-client-mock';
import { trustedRootSource } from '../../shared/adapters/sigstore/trust';

// The smallest root parseTrustedRoot accepts: one certificate authority, one log.
const rootJson = TrustedRoot.toJSON({
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  certificateAuthorities: [
    {
      subject: { organization: 'test', commonName: 'test' },
      uri: 'https://fulcio.test',
      certChain: { certificates: [{ rawBytes: Buffer.from('cert') }] },
      validFor: { start: new Date('2026-01-01T00:00:00Z'), end: undefined },
      operator: 'test',
    },
  ],
  tlogs: [
    {
      baseUrl: 'https://rekor.test',
      hashAlgorithm: 1,
      publicKey: { rawBytes: Buffer.from('key'), keyDetails: 5, validFor: undefined },
      logId: { keyId: Buffer.from('log') },
      checkpointKeyId: undefined,
      operator: 'test',
    },
  ],
  ctlogs: [],
  timestampAuthorities: [],
});

describe('GIVEN a trusted root at an s3:// location (S3 client loaded on first read)', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => s3.reset());
  const body = (text: string) => ({ Body: { transformToString: async () => text } as never });

  it('WHEN read THEN it is fetched from that bucket and key once per refresh period', async () => {
    s3.on(GetObjectCommand).resolves(body(JSON.stringify(rootJson)));
    let now = 0;
    const source = trustedRootSource('s3://roots/sigstore/trusted_root.json', {
      s3: new S3Client({ region: 'eu-west-1' }),
      refreshMs: 1000,
      now: () => now,
    });
    const root = await source();
    expect(root.tlogs[0]?.baseUrl).toBe('https://rekor.test');
    await source();
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'roots', Key: 'sigstore/trusted_root.json' },
    ]);
    now = 1000;
    await source();
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(2);
  });

  it('WHEN the object is not JSON THEN the error names the location', async () => {
    s3.on(GetObjectCommand).resolves(body('not json'));
    const source = trustedRootSource('s3://roots/bad.json', {
      s3: new S3Client({ region: 'eu-west-1' }),
    });
    await expect(source()).rejects.toThrow('the trusted root at s3://roots/bad.json is not JSON');
  });

  it('WHEN S3 fails THEN the error says the root could not be read', async () => {
    s3.on(GetObjectCommand).rejects(new Error('AccessDenied'));
    const source = trustedRootSource('s3://roots/root.json', {
      s3: new S3Client({ region: 'eu-west-1' }),
    });
    await expect(source()).rejects.toThrow(
      'cannot read the trusted root at s3://roots/root.json: AccessDenied',
    );
  });
});
