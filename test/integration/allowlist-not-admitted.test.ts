import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDbAdmittedImages } from '../../shared/adapters/aws/admitted-images';
import { DynamoDbSequenceCounter } from '../../shared/adapters/aws/allowlist-sequence';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { DynamoDbRefusedImages } from '../../shared/adapters/aws/refused-images';
import { FileSigner, generatePrivateKeyPem } from '../../shared/adapters/local/file-signer';
import { FolderAllowlistStore } from '../../shared/adapters/local/folder-allowlist-store';
import { sigstoreAllowlistSignatures } from '../../shared/adapters/sigstore/allowlist-signatures';
import type { VerdictValue } from '../../shared/domain/verdict';
import { deletedDraft, planWrite } from '../../shared/domain/verdict-record';
import { publishAllowlist } from '../../shared/services/publish-allowlist';
import { draftOf, keyOf, REGISTRY } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

const NOW = new Date('2026-11-23T12:00:00.000Z');
let dynamo: LocalDynamo;
let table: string;

beforeAll(async () => {
  dynamo = await startDynalite();
  table = await dynamo.newTable();
  const store = new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents });
  const write = async (n: number, verdict: VerdictValue, extra = {}) => {
    const plan = planWrite(undefined, draftOf(keyOf('prod/api', n), { verdict, ...extra }));
    await store.write(plan);
    return plan.record;
  };
  await write(1, 'PASS');
  await write(2, 'FAIL');
  await write(3, 'PENDING');
  await write(4, 'ERROR');
  await write(5, 'WARN', { expiresAt: '2026-11-23T00:00:00.000Z' });
  const gone = await write(6, 'PASS');
  await store.write(planWrite(gone, deletedDraft(gone, new Date('2026-11-22T06:00:00Z'))));
  // Newer refusals, so a cap keeps these and drops the ones above.
  for (let n = 10; n < 18; n++) {
    await write(n, 'FAIL', { evaluatedAt: '2026-11-23T06:00:00.000Z' });
  }
});
afterAll(() => dynamo.stop());

function publish(maxNotAdmitted: number) {
  return publishAllowlist({
    admitted: new DynamoDbAdmittedImages({ tableName: table, client: dynamo.documents }),
    refused: new DynamoDbRefusedImages({ tableName: table, client: dynamo.documents }),
    maxNotAdmitted,
    sequence: new DynamoDbSequenceCounter(table, dynamo.documents),
    signer: new FileSigner(generatePrivateKeyPem()),
    signatures: sigstoreAllowlistSignatures,
    store: new FolderAllowlistStore(mkdtempSync(join(tmpdir(), 'not-admitted-'))),
    policyHash: 'sha256:p',
    validityMs: 86_400_000,
    clock: () => NOW,
  });
}

const repo = `${REGISTRY}/prod/api`;
const d = (n: number) => keyOf('prod/api', n).digest;

describe('the allowlist names why digests are not admitted (refused index on dynalite)', () => {
  it('lists each judged digest that is not admitted, with its code, and admits none of them', async () => {
    const { allowlist } = await publish(1000);
    expect(Object.keys(allowlist.images[repo] ?? {})).toEqual([d(1)]);
    const section = allowlist.notAdmitted;
    expect(section?.complete).toBe(true);
    const images = section?.images[repo] ?? {};
    expect(Object.keys(images)).toHaveLength(13);
    expect([d(2), d(3), d(4), d(5), d(6), d(10)].map((digest) => images[digest])).toEqual([
      'FAIL',
      'PENDING',
      'ERROR',
      'EXPIRED',
      'DELETED',
      'FAIL',
    ]);
  });

  it('keeps the newest under a cap and says it is not complete', async () => {
    const { allowlist } = await publish(8);
    const section = allowlist.notAdmitted;
    expect(section?.complete).toBe(false);
    const listed = Object.keys(section?.images[repo] ?? {});
    expect(listed.length).toBeLessThanOrEqual(8);
    // The expired admission comes first; each shard gives its newest share of the rest.
    expect(listed).toContain(d(5));
  });

  it('leaves the section out when not asked for', async () => {
    expect((await publish(0)).allowlist.notAdmitted).toBeUndefined();
  });

  it('moves a digest out of the refused index when it is admitted again', async () => {
    const store = new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents });
    const key = keyOf('prod/api', 2);
    const failing = await store.get(key);
    expect(failing).toBeDefined();
    expect(failing).not.toHaveProperty('refused');
    if (!failing) return;
    await store.write(
      planWrite(failing, { ...failing, verdict: 'PASS', evaluatedAt: NOW.toISOString() }),
    );
    const { allowlist } = await publish(1000);
    expect(allowlist.images[repo]?.[d(2)]).toMatchObject({ verdict: 'PASS' });
    expect(allowlist.notAdmitted?.images[repo]?.[d(2)]).toBeUndefined();
  });
});
