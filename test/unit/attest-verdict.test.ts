import { attestationRequestSchema } from '../../shared/domain/attestation';
import type { ImageKey } from '../../shared/domain/image-ref';
import type { VerdictRecord } from '../../shared/domain/verdict-record';
import type { VerdictAttestor } from '../../shared/ports';
import { attestVerdict } from '../../shared/services/attest-verdict';

const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const key: ImageKey = {
  registry: REGISTRY,
  repository: 'prod/api',
  digest: `sha256:${'a'.repeat(64)}`,
};
const now = new Date('2026-11-23T10:00:00Z');
const evaluatedAt = '2026-11-23T09:59:00.000Z';
const asked = (version: number) => ({ ...key, version, evaluatedAt });

function setup(record: Partial<VerdictRecord> | undefined) {
  const signed: VerdictRecord[] = [];
  const attestor: VerdictAttestor = {
    async attest(r) {
      signed.push(r);
      return { digest: `sha256:${'b'.repeat(64)}`, attestedAt: now.toISOString() };
    },
  };
  const stored =
    record && ({ ...key, verdict: 'PASS', version: 3, evaluatedAt, ...record } as VerdictRecord);
  const store = { get: async (k: ImageKey) => (k.digest === key.digest ? stored : undefined) };
  return { signed, options: { store, attestor, registries: [REGISTRY], clock: () => now } };
}

describe('attestVerdict (the attestor)', () => {
  it('THEN it signs the verdict the table holds, even when newer than the one asked for', async () => {
    const { signed, options } = setup({ verdict: 'FAIL', version: 5 });
    const out = await attestVerdict(asked(2), options);
    expect(out).toEqual({ outcome: 'attested', version: 5, digest: `sha256:${'b'.repeat(64)}` });
    expect(signed.map((r) => [r.verdict, r.version])).toEqual([['FAIL', 5]]);
  });

  it.each([
    ['no verdict', undefined, 'no-verdict'],
    ['a deleted image', { deletedAt: '2026-11-22T00:00:00Z' }, 'deleted'],
  ] as const)('THEN %s is skipped without signing', async (_, record, why) => {
    const { signed, options } = setup(record);
    expect(await attestVerdict(asked(1), options)).toEqual({
      outcome: 'skipped',
      why,
    });
    expect(signed).toEqual([]);
  });

  it.each([
    ['an older version', { version: 2 }, asked(3)],
    [
      'an older evaluation (a nightly refresh asks before its write lands)',
      { version: 3, evaluatedAt: '2026-11-22T09:59:00.000Z' },
      asked(3),
    ],
  ] as const)(
    'THEN a stored verdict with %s than asked is not signed: retried (VERDICT_NOT_STORED)',
    async (_, record, request) => {
      const { signed, options } = setup(record);
      await expect(attestVerdict(request, options)).rejects.toMatchObject({
        code: 'VERDICT_NOT_STORED',
      });
      expect(signed).toEqual([]);
    },
  );

  it('THEN a registry it does not attest for is refused before the table is read', async () => {
    const { signed, options } = setup({});
    const read: ImageKey[] = [];
    const store = {
      get: async (k: ImageKey) => {
        read.push(k);
        return undefined;
      },
    };
    await expect(
      attestVerdict({ ...asked(1), registry: 'evil.example.com' }, { ...options, store }),
    ).rejects.toMatchObject({ code: 'ATTESTATION_REFUSED' });
    expect([read, signed]).toEqual([[], []]);
  });

  it.each([
    ['an unknown key', { ...asked(1), verdict: 'PASS' }],
    ['a bad digest', { ...asked(1), digest: 'sha256:xyz' }],
    ['version 0', asked(0)],
    ['no repository', { registry: REGISTRY, digest: key.digest, version: 1, evaluatedAt }],
    ['no evaluation time', { ...key, version: 1 }],
    ['an evaluation time that is no instant', { ...asked(1), evaluatedAt: 'yesterday' }],
  ])('THEN a request with %s does not parse', (_, body) => {
    expect(attestationRequestSchema.safeParse(body).success).toBe(false);
  });
});
