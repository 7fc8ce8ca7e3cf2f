import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { loadFixture } from '../../events';
import { createHandler } from '../../functions/allowlist/handler';
import { DynamoDbAdmittedImages } from '../../shared/adapters/aws/admitted-images';
import { DynamoDbSequenceCounter } from '../../shared/adapters/aws/allowlist-sequence';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { S3AllowlistStore } from '../../shared/adapters/aws/s3-allowlist-store';
import { imagePartitionKey } from '../../shared/adapters/aws/verdict-table';
import { FileSigner, generatePrivateKeyPem } from '../../shared/adapters/local/file-signer';
import { sigstoreAllowlistSignatures } from '../../shared/adapters/sigstore/allowlist-signatures';
import { parseAllowlist } from '../../shared/domain/allowlist';
import type { VerdictValue } from '../../shared/domain/verdict';
import { planWrite } from '../../shared/domain/verdict-record';
import { verifyAllowlist } from '../../shared/services/verify-allowlist';
import { draftOf, keyOf } from '../support/builders';
import { runCli } from '../support/cli';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { type LocalS3, startS3rver } from '../support/s3rver';

let dynamo: LocalDynamo;
let s3: LocalS3;
let table: string;
const signer = new FileSigner(generatePrivateKeyPem());
const dir = mkdtempSync(join(tmpdir(), 'rw-allowlist-'));
const NOW = new Date('2026-11-23T02:15:00.000Z');
const HOUR = 3_600_000;

beforeAll(async () => {
  [dynamo, s3] = await Promise.all([startDynalite(), startS3rver()]);
  table = await dynamo.newTable();
  const store = new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents });
  // 30 digests in 3 repositories: PASS, WARN (one already past its expiresAt) and FAIL.
  const verdicts: VerdictValue[] = ['PASS', 'PASS', 'WARN', 'FAIL', 'PENDING'];
  for (let n = 1; n <= 30; n++) {
    const key = keyOf(['prod/api', 'team-a/web', 'sandbox/tool'][n % 3] ?? 'x', n);
    const verdict = verdicts[n % 5] ?? 'PASS';
    const expiresAt =
      n === 2
        ? new Date(NOW.getTime() - HOUR)
        : n === 7
          ? new Date(NOW.getTime() + 48 * HOUR)
          : undefined;
    await store.write(
      planWrite(
        undefined,
        draftOf(key, {
          tags: n % 4 === 0 ? [] : [`1.${n}.0`, 'latest'].slice(0, 1 + (n % 2)),
          verdict,
          policyHash: 'sha256:old',
          ...(expiresAt && { expiresAt: expiresAt.toISOString() }),
        }),
      ),
    );
  }
});
afterAll(async () => {
  await Promise.all([dynamo.stop(), s3.stop()]);
});

function lambda({ now = NOW, waits = [] as number[], tableName = table } = {}) {
  return createHandler(() => ({
    admitted: new DynamoDbAdmittedImages({
      tableName,
      client: dynamo.documents,
      pageSize: 2,
    }),
    sequence: new DynamoDbSequenceCounter(tableName, dynamo.documents),
    signer,
    signatures: sigstoreAllowlistSignatures,
    store: new S3AllowlistStore({ bucket: s3.bucket, prefix: 'prod/', client: s3.client }),
    policyHash: 'sha256:current-policy',
    validityMs: 24 * HOUR,
    maxWaitMs: 30_000,
    clock: () => now,
    wait: async (ms) => {
      waits.push(ms);
    },
  }));
}

async function download(key: string): Promise<{ body: Buffer; metadata: Record<string, string> }> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `prod/${key}` }));
  return {
    body: Buffer.from(
      await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    ),
    metadata: out.Metadata ?? {},
  };
}

/** Downloads the three published objects into files for the CLI. */
async function publishedFiles(name: string) {
  const [document, bundle, key] = await Promise.all([
    download('allowlist.json'),
    download('allowlist.json.sigstore.json'),
    download('allowlist.pub'),
  ]);
  const paths = {
    document: join(dir, `${name}.json`),
    bundle: join(dir, `${name}.json.sigstore.json`),
    key: join(dir, `${name}.pub`),
  };
  writeFileSync(paths.document, document.body);
  writeFileSync(paths.bundle, bundle.body);
  writeFileSync(paths.key, key.body);
  return { paths, document };
}

describe('allowlist: admitted index → signed document in S3 (s3rver)', () => {
  let first: Awaited<ReturnType<typeof publishedFiles>>;

  beforeAll(async () => {
    await lambda()({ source: 'aws.scheduler', 'detail-type': 'Scheduled Event' });
    first = await publishedFiles('first');
  });

  it('lists exactly the admitted, unexpired digests, sorted, with tags and expiry', () => {
    const allowlist = parseAllowlist(first.document.body);
    expect(allowlist.sequence).toBe(1);
    expect(allowlist.generatedAt).toBe(NOW.toISOString());
    expect(allowlist.validUntil).toBe('2026-11-24T02:15:00.000Z');
    expect(allowlist.policyHash).toBe('sha256:current-policy');
    const entries = Object.entries(allowlist.images).flatMap(([repo, digests]) =>
      Object.entries(digests).map(([digest, entry]) => ({ repo, digest, ...entry })),
    );
    // n % 5 in {0,1,2} → PASS/PASS/WARN; n = 2 expired; 30 digests → 18 admitted, 17 listed.
    expect(entries).toHaveLength(17);
    expect(entries.every((e) => e.verdict === 'PASS' || e.verdict === 'WARN')).toBe(true);
    expect(entries.find((e) => e.digest === keyOf('x', 2).digest)).toBeUndefined();
    expect(entries.find((e) => e.digest === keyOf('x', 7).digest)?.expiresAt).toBe(
      '2026-11-25T02:15:00.000Z',
    );
    const repos = Object.keys(allowlist.images);
    expect(repos).toEqual([...repos].sort());
    expect(first.document.metadata.sequence).toBe('1');
  });

  it('verifies with the CLI and prints a summary', async () => {
    const { paths } = first;
    const { code, out } = await runCli([
      'allowlist',
      'verify',
      paths.document,
      '--key',
      paths.key,
      '--now',
      '2026-11-23T03:00:00Z',
    ]);
    expect(code).toBe(0);
    expect(out).toContain(`${paths.document}: valid, sequence 1, signed by key`);
    expect(out).toContain('valid until 2026-11-24T02:15:00.000Z (23h 15m left)');
    expect(out).toContain('17 digests (');
    expect(out).toContain('in 3 repositories');

    const json = await runCli([
      'allowlist',
      'verify',
      paths.document,
      '--key',
      paths.key,
      '--now',
      '2026-11-23T03:00:00Z',
      '-o',
      'json',
    ]);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.out);
    expect(result).toMatchObject({
      file: paths.document,
      valid: true,
      sequence: 1,
      validUntil: '2026-11-24T02:15:00.000Z',
      secondsLeft: 23 * 3600 + 15 * 60,
      digests: 17,
      repositories: 3,
      policyHash: 'sha256:current-policy',
    });
    expect(result.pass + result.warn).toBe(17);
    expect(out).toContain(`signed by key ${result.signedBy}`);
  });

  it('carries the bundle in the object metadata too, so one GET is enough', async () => {
    const publicKeyPem = await signer.publicKeyPem();
    const bundle = JSON.parse(
      Buffer.from(first.document.metadata['sigstore-bundle'] ?? '', 'base64').toString(),
    );
    expect(() =>
      verifyAllowlist(first.document.body, bundle, {
        publicKeyPem,
        now: NOW,
        signatures: sigstoreAllowlistSignatures,
      }),
    ).not.toThrow();
  });

  it('increases the sequence on every publication and rejects the older one as a rollback', async () => {
    const waits: number[] = [];
    const fifo = loadFixture('sqs/allowlist-rebuild-fifo');
    // The rebuild message arrives 5 s before its debounce window closes: the build waits.
    const result = await lambda({ now: new Date('2026-11-23T02:14:25.000Z'), waits })(fifo);
    expect(waits).toEqual([5_000]);
    expect(result.sequence).toBe(2);
    const second = await publishedFiles('second');
    expect(parseAllowlist(second.document.body).sequence).toBe(2);
    const rollback = await runCli([
      'allowlist',
      'verify',
      first.paths.document,
      '--key',
      first.paths.key,
      '--min-sequence',
      '2',
      '--now',
      '2026-11-23T03:00:00Z',
    ]);
    expect(rollback.code).toBe(1);
    expect(rollback.err).toContain(
      'rejected (ROLLED_BACK): rolled back: sequence 1 is lower than 2',
    );
  });

  it.each([
    [
      'one flipped byte',
      'flipped',
      /rejected \(DIGEST_MISMATCH\): bad signature: the allowlist was changed after it was signed/,
    ],
    [
      'a wrong key',
      'wrong-key',
      /rejected \(SIGNATURE_INVALID\): bad signature: the signature does not verify with this public key/,
    ],
    [
      'an expired document',
      'expired',
      /rejected \(EXPIRED\): expired: validUntil 2026-11-24T02:15:00.000Z is in the past/,
    ],
  ])('rejects %s with its own message', async (_name, variant, message) => {
    const { paths } = first;
    let document = paths.document;
    let key = paths.key;
    let now = '2026-11-23T03:00:00Z';
    if (variant === 'flipped') {
      const bytes = Buffer.from(first.document.body);
      const at = bytes.indexOf('"PASS"') + 2;
      bytes[at] = (bytes[at] ?? 0) ^ 0x01;
      document = join(dir, 'flipped.json');
      writeFileSync(document, bytes);
    }
    if (variant === 'wrong-key') {
      key = join(dir, 'other.pub');
      writeFileSync(key, await new FileSigner(generatePrivateKeyPem()).publicKeyPem());
    }
    if (variant === 'expired') now = '2026-11-24T02:15:00Z';
    const { code, err } = await runCli([
      'allowlist',
      'verify',
      document,
      '--bundle',
      paths.bundle,
      '--key',
      key,
      '--now',
      now,
    ]);
    expect(code).toBe(1);
    expect(err).toMatch(message);
  });

  it('never goes back in sequence, even on a recreated table with a fresh counter', async () => {
    const published = Number((await download('allowlist.json')).metadata.sequence);
    const fresh = await dynamo.newTable('recreated');
    const result = await lambda({ tableName: fresh })({});
    expect(result.sequence).toBe(published + 1);
    expect(result.digests).toBe(0);
    expect(await new DynamoDbSequenceCounter(fresh, dynamo.documents).next()).toBe(published + 2);
  });

  it('answers usage errors with exit 2', async () => {
    const { code, err } = await runCli([
      'allowlist',
      'verify',
      first.paths.document,
      '--key',
      first.paths.key,
      '--min-sequence',
      'x',
    ]);
    expect(code).toBe(2);
    expect(err).toContain('--min-sequence x is not a whole number');
  });
});

describe('allowlist: publications at least REBUILD_MIN_INTERVAL apart', () => {
  it('publishes at once after a quiet spell and waits out the gap after a publication', async () => {
    const quiet = await dynamo.newTable();
    let now = NOW.getTime();
    const waits: number[] = [];
    const handler = createHandler(() => ({
      admitted: new DynamoDbAdmittedImages({ tableName: quiet, client: dynamo.documents }),
      sequence: new DynamoDbSequenceCounter(quiet, dynamo.documents),
      signer,
      signatures: sigstoreAllowlistSignatures,
      store: new S3AllowlistStore({ bucket: s3.bucket, prefix: 'gap/', client: s3.client }),
      policyHash: 'sha256:current-policy',
      validityMs: 24 * HOUR,
      maxWaitMs: 1_000,
      minIntervalMs: 5_000,
      clock: () => new Date(now),
      wait: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    }));
    const fifo = loadFixture('sqs/allowlist-rebuild-fifo');
    // The fixture's window closed long ago: only the gap can hold a build back.
    expect((await handler(fifo)).sequence).toBe(1);
    expect(waits).toEqual([]);
    now += 1_500;
    expect((await handler(fifo)).sequence).toBe(2);
    expect(waits).toEqual([3_500]);
    now += 60_000;
    expect((await handler({})).sequence).toBe(3);
    expect(waits).toEqual([3_500]);
  });
});

/**
 * dynalite's indexes never lag, so the lag is put in front of it: a document client whose
 * queries of the `admitted` index still show, for the keys in `behind`, what the index held
 * before (an item, or nothing). Everything else, BatchGetItem included, is dynalite's answer.
 */
function laggingIndex(behind: Map<string, Record<string, unknown> | undefined>) {
  const real = dynamo.documents;
  return {
    async send(command: { input: Record<string, unknown> }) {
      const out = (await real.send(command as never)) as { Items?: Record<string, unknown>[] };
      if (!(command instanceof QueryCommand) || command.input.IndexName !== 'admitted') return out;
      const shard = (command.input.ExpressionAttributeValues as Record<string, number>)[':shard'];
      const items = (out.Items ?? []).filter((item) => !behind.has(String(item.pk)));
      for (const old of behind.values()) {
        if (old && old.admitted === shard && !command.input.ExclusiveStartKey) items.push(old);
      }
      return { ...out, Items: items };
    },
  } as unknown as typeof real;
}

describe('a change the admitted index has not caught up with (GSI lag)', () => {
  let lagged: string;
  let store: DynamoDbVerdictStore;
  const behind = new Map<string, Record<string, unknown> | undefined>();
  const pkOf = (repository: string, n: number) => imagePartitionKey(keyOf(repository, n));
  const request = (dirty?: string[]) => ({
    Records: [
      {
        eventSource: 'aws:sqs',
        body: JSON.stringify({
          reason: 'stream record 1',
          requestedAt: NOW.toISOString(),
          notBefore: NOW.toISOString(),
          ...(dirty && { dirty }),
        }),
      },
    ],
  });
  const handler = () =>
    createHandler(() => ({
      admitted: new DynamoDbAdmittedImages({ tableName: lagged, client: laggingIndex(behind) }),
      sequence: new DynamoDbSequenceCounter(lagged, dynamo.documents),
      signer,
      signatures: sigstoreAllowlistSignatures,
      store: new S3AllowlistStore({ bucket: s3.bucket, prefix: 'lag/', client: s3.client }),
      policyHash: 'sha256:current-policy',
      validityMs: 24 * HOUR,
      maxWaitMs: 1_000,
      clock: () => NOW,
      wait: async () => undefined,
    }));
  const published = async () =>
    parseAllowlist(
      (
        await s3.client
          .send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'lag/allowlist.json' }))
          .then(async (o) =>
            (o.Body as { transformToString(): Promise<string> }).transformToString(),
          )
      ).toString(),
    );
  const digestsOf = (allowlist: ReturnType<typeof parseAllowlist>) =>
    Object.values(allowlist.images).flatMap((entries) => Object.keys(entries));

  beforeAll(async () => {
    lagged = await dynamo.newTable();
    store = new DynamoDbVerdictStore({ tableName: lagged, client: dynamo.documents });
    for (const n of [1, 2]) {
      await store.write(planWrite(undefined, draftOf(keyOf('prod/api', n), { verdict: 'PASS' })));
    }
  });

  it('a new PASS the index does not show yet is in the document built for its request', async () => {
    await store.write(planWrite(undefined, draftOf(keyOf('prod/api', 3), { verdict: 'PASS' })));
    behind.set(pkOf('prod/api', 3), undefined);
    // The lag is real for a build that only reads the index:
    await handler()(request());
    expect(digestsOf(await published())).toEqual(
      [keyOf('prod/api', 1).digest, keyOf('prod/api', 2).digest].sort(),
    );
    // The request naming the record reads it by key:
    await handler()(request([pkOf('prod/api', 3)]));
    expect(digestsOf(await published())).toContain(keyOf('prod/api', 3).digest);
  });

  it('a digest that failed while the index still shows it admitted is left out', async () => {
    const pk = pkOf('prod/api', 1);
    const before = (
      await dynamo.documents.send(new GetCommand({ TableName: lagged, Key: { pk, sk: 'CURRENT' } }))
    ).Item;
    const previous = await store.get(keyOf('prod/api', 1));
    await store.write(planWrite(previous, draftOf(keyOf('prod/api', 1), { verdict: 'FAIL' })));
    behind.set(pk, before);
    await handler()(request());
    expect(digestsOf(await published())).toContain(keyOf('prod/api', 1).digest);
    await handler()(request([pk, pkOf('prod/api', 3)]));
    const digests = digestsOf(await published());
    expect(digests).not.toContain(keyOf('prod/api', 1).digest);
    expect(digests).toContain(keyOf('prod/api', 2).digest);
    expect(digests).toContain(keyOf('prod/api', 3).digest);
  });
});
