import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { loadFixture } from '../../events';
import {
  DynamoDbFindingsFacts,
  factsSortKey,
} from '../../shared/adapters/aws/dynamodb-findings-facts';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { normaliseScanFindings } from '../../shared/adapters/aws/ecr-findings';
import { imagePartitionKey } from '../../shared/adapters/aws/verdict-table';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import { InvalidFindingsError } from '../../shared/domain/errors';
import type { Finding } from '../../shared/domain/findings';
import { type FindingsFacts, factsOfScan } from '../../shared/domain/findings-facts';
import { evaluateImage } from '../../shared/services/evaluate-image';
import { completeScan, finding, keyOf, policyOf } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

const key = keyOf('prod/api');
const enhanced = normaliseScanFindings(loadFixture('ecr/describe-image-scan-findings-enhanced'));

/** n distinct Inspector-shaped findings, built from the fixture's. */
function manyFindings(n: number): Finding[] {
  const base = factsOfScan(key, enhanced)?.findings ?? [];
  return Array.from({ length: n }, (_, i) => {
    const f = base[i % base.length] as Finding;
    return {
      ...f,
      id: `CVE-2026-${String(10_000 + i)}`,
      package: { name: `pkg-${i}`, version: `1.${i}.0` },
    };
  });
}

async function newFacts(partBytes?: number) {
  const tableName = await dynamo.newTable('facts');
  return {
    tableName,
    facts: new DynamoDbFindingsFacts({
      tableName,
      client: dynamo.documents,
      ...(partBytes && { partBytes }),
    }),
  };
}

function factsWith(findings: Finding[], completedAt = '2026-11-22T10:00:00.000Z'): FindingsFacts {
  return { key, scanner: 'inspector', completedAt, status: 'ACTIVE', findings };
}

describe('DynamoDbFindingsFacts on dynalite', () => {
  it('reads back 1,000 findings stored in one item beside the verdict', async () => {
    const { facts, tableName } = await newFacts();
    const stored = factsWith(manyFindings(1_000));
    const ref = await facts.put(stored);
    expect(ref).toMatchObject({ digest: key.digest, count: 1_000, scanner: 'inspector' });
    expect(await facts.get(key, ref)).toEqual(stored);
    const item = await dynamo.documents.send(
      new GetCommand({
        TableName: tableName,
        Key: { pk: imagePartitionKey(key), sk: factsSortKey(ref) },
      }),
    );
    expect(item.Item).toMatchObject({ parts: 1, enc: 'f1', hash: ref.hash });
  });

  it('continues large facts in part items and joins them on read', async () => {
    const { facts } = await newFacts(2_000);
    const stored = factsWith(manyFindings(300));
    const ref = await facts.put(stored);
    expect(await facts.get(key, ref)).toEqual(stored);
    const all: FindingsFacts[] = [];
    for await (const page of facts.pages()) all.push(...page);
    expect(all).toEqual([stored]);
  });

  it('keeps each scan apart and answers undefined for a scan it does not have', async () => {
    const { facts } = await newFacts();
    const older = factsWith([finding('CVE-1', 'LOW')], '2026-11-20T00:00:00.000Z');
    const newer = factsWith([finding('CVE-2', 'HIGH')], '2026-11-21T00:00:00.000Z');
    await facts.put(older);
    await facts.put(newer);
    expect(await facts.get(key, older)).toEqual(older);
    expect(await facts.get(key, newer)).toEqual(newer);
    expect(await facts.get(key, { ...newer, scanner: 'ecr-basic' })).toBeUndefined();
    expect(await facts.get(keyOf('prod/api', 2), newer)).toBeUndefined();
  });

  it('refuses facts whose content no longer matches their hash', async () => {
    const { facts, tableName } = await newFacts();
    const ref = await facts.put(factsWith([finding('CVE-1', 'LOW')]));
    const sk = factsSortKey(ref);
    const pk = imagePartitionKey(key);
    const out = await dynamo.documents.send(
      new GetCommand({ TableName: tableName, Key: { pk, sk } }),
    );
    await dynamo.documents.send(
      new PutCommand({ TableName: tableName, Item: { ...out.Item, hash: '0'.repeat(32) } }),
    );
    await expect(facts.get(key, ref)).rejects.toThrow(InvalidFindingsError);
  });

  it('lists facts, not verdicts, from a table that holds both', async () => {
    const { facts, tableName } = await newFacts();
    const registry = new MemoryRegistry();
    registry.put({ key, tags: ['v1'] }, completeScan([finding('CVE-2024-1', 'CRITICAL')]));
    const store = new DynamoDbVerdictStore({ tableName, client: dynamo.documents });
    const result = await evaluateImage(
      { key, trigger: 'push' },
      {
        images: registry,
        findings: registry,
        facts,
        store,
        policy: policyOf(),
        clock: () => new Date('2026-11-23T00:00:00Z'),
      },
    );
    expect(result.record?.verdict).toBe('FAIL');
    const all: FindingsFacts[] = [];
    for await (const page of facts.pages()) all.push(...page);
    expect(all.map((f) => f.findings.map((x) => x.id))).toEqual([['CVE-2024-1']]);
  });
});

describe('evaluate keeps the facts a verdict was judged on', () => {
  const now = () => new Date('2026-11-23T00:00:00Z');

  it('stores them before the verdict, which names them', async () => {
    const { facts, tableName } = await newFacts();
    const registry = new MemoryRegistry();
    const scan = completeScan([finding('CVE-2024-1', 'HIGH', { fixedIn: '1.2.3' })]);
    registry.put({ key, tags: ['v1'] }, scan);
    const store = new DynamoDbVerdictStore({ tableName, client: dynamo.documents });
    const options = {
      images: registry,
      findings: registry,
      facts,
      store,
      policy: policyOf(),
      clock: now,
    };
    const { record } = await evaluateImage({ key, trigger: 'push' }, options);
    const [ref, ...others] = record?.facts ?? [];
    expect(others).toEqual([]);
    expect(ref).toMatchObject({ digest: key.digest, completedAt: scan.completedAt, count: 1 });
    if (!ref) throw new Error('the verdict names no facts');
    expect((await facts.get(key, ref))?.findings).toEqual(scan.findings);
    expect((await store.get(key))?.facts).toEqual([ref]);
  });

  it('writes no verdict when the facts cannot be stored', async () => {
    const { tableName } = await newFacts();
    const registry = new MemoryRegistry();
    registry.put({ key, tags: ['v1'] }, completeScan([finding('CVE-2024-1', 'HIGH')]));
    const store = new DynamoDbVerdictStore({ tableName, client: dynamo.documents });
    const broken = new DynamoDbFindingsFacts({
      tableName: 'no-such-table',
      client: dynamo.documents,
      retry: { attempts: 1 },
    });
    await expect(
      evaluateImage(
        { key, trigger: 'push' },
        {
          images: registry,
          findings: registry,
          facts: broken,
          store,
          policy: policyOf(),
          clock: now,
        },
      ),
    ).rejects.toThrow();
    expect(await store.get(key)).toBeUndefined();
  });

  it('keeps one entry per platform of an index and does not rewrite facts already named', async () => {
    const { facts, tableName } = await newFacts();
    const registry = new MemoryRegistry();
    const amd = keyOf('prod/api', 11);
    const arm = keyOf('prod/api', 12);
    registry.put(
      {
        key,
        tags: ['v1'],
        mediaType: 'application/vnd.oci.image.index.v1+json',
        platforms: [
          { digest: amd.digest, platform: 'linux/amd64' },
          { digest: arm.digest, platform: 'linux/arm64' },
        ],
      },
      completeScan([]),
    );
    registry.putScan(amd, completeScan([finding('CVE-A', 'LOW')]));
    registry.putScan(arm, completeScan([finding('CVE-B', 'MEDIUM')]));
    let puts = 0;
    const counting = {
      put: (f: FindingsFacts) => {
        puts += 1;
        return facts.put(f);
      },
      get: facts.get.bind(facts),
      pages: facts.pages.bind(facts),
    };
    const store = new DynamoDbVerdictStore({ tableName, client: dynamo.documents });
    const options = {
      images: registry,
      findings: registry,
      facts: counting,
      store,
      policy: policyOf(),
      clock: now,
    };
    const first = await evaluateImage({ key, trigger: 'push' }, options);
    expect(first.record?.facts?.map((r) => r.digest)).toEqual([amd.digest, arm.digest]);
    expect(
      (await facts.get(arm, { scanner: 'ecr-basic', completedAt: '2026-11-22T00:00:00.000Z' }))
        ?.findings,
    ).toEqual([finding('CVE-B', 'MEDIUM')]);
    expect(puts).toBe(2);
    await evaluateImage({ key, trigger: 'scan' }, options);
    expect(puts).toBe(2);
  });
});

describe('a rescan request that carries the listing judges from stored facts', () => {
  const now = () => new Date('2026-11-24T00:00:00Z');
  const scannedAt = '2026-11-22T00:00:00.000Z';

  async function judgedOnce(scanner: 'ecr-basic' | 'inspector' = 'ecr-basic') {
    const { facts, tableName } = await newFacts();
    const registry = new MemoryRegistry();
    const scan = { ...completeScan([finding('CVE-2024-1', 'HIGH')], scannedAt), scanner };
    registry.put({ key, tags: ['v1'] }, scan);
    const store = new DynamoDbVerdictStore({ tableName, client: dynamo.documents });
    const options = {
      images: registry,
      findings: registry,
      facts,
      store,
      policy: policyOf(),
      clock: now,
    };
    const first = await evaluateImage({ key, trigger: 'push' }, options);
    registry.calls.describeImage = 0;
    registry.calls.getFindings = 0;
    return { registry, options, first };
  }

  it('reads neither the image nor its findings when the listing reports the same scan', async () => {
    const { registry, options, first } = await judgedOnce();
    const seen = { key, tags: ['v1'], scanCompletedAt: scannedAt };
    const later = { ...options, clock: () => new Date('2026-11-24T01:00:00Z') };
    const again = await evaluateImage({ key, trigger: 'rescan', seen }, later);
    expect(registry.calls).toEqual({ describeImage: 0, getFindings: 0 });
    expect(again.write).toBe('touch');
    expect(again.record?.facts).toEqual(first.record?.facts);
    expect(again.record?.verdict).toBe(first.record?.verdict);
    // Nothing but the time changed: nothing is written (docs/rescans.md, Writes).
    expect(await options.store.get(key)).toEqual(first.record);
  });

  it('reads the findings again when the listing reports another scan', async () => {
    const { registry, options } = await judgedOnce();
    const seen = { key, tags: ['v1'], scanCompletedAt: '2026-11-23T00:00:00.000Z' };
    await evaluateImage({ key, trigger: 'rescan', seen }, options);
    expect(registry.calls).toEqual({ describeImage: 0, getFindings: 1 });
  });

  it('reads Inspector findings again when the listing names no scan time', async () => {
    const basic = await judgedOnce('ecr-basic');
    await evaluateImage({ key, trigger: 'rescan', seen: { key, tags: ['v1'] } }, basic.options);
    expect(basic.registry.calls.getFindings).toBe(0);
    const inspector = await judgedOnce('inspector');
    await evaluateImage({ key, trigger: 'rescan', seen: { key, tags: ['v1'] } }, inspector.options);
    expect(inspector.registry.calls.getFindings).toBe(1);
  });

  it('describes the image and reads findings for a request without the listing', async () => {
    const { registry, options } = await judgedOnce();
    await evaluateImage({ key, trigger: 'rescan' }, options);
    expect(registry.calls).toEqual({ describeImage: 1, getFindings: 1 });
  });
});
