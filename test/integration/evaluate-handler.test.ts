import { loadFixture } from '../../events';
import { createHandler } from '../../functions/evaluate/handler';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { evaluateRequestEvent } from '../../shared/adapters/aws/evaluate-events';
import { MemoryRegistry } from '../../shared/adapters/local/memory-registry';
import type { VerdictStore } from '../../shared/ports';
import { completeScan, finding, keyOf, policyOf, REGISTRY } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { sqsEvent, sqsRecord } from '../support/sqs';

const AMD64 = 'sha256:1a91b3113d51f5b585abe9d9ce70c86c497c8013142e3d27e77a94562dcc722e';
const amd64 = { registry: REGISTRY, repository: 'prod/api', digest: AMD64 };

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

async function setup(store?: VerdictStore) {
  const table = await dynamo.newTable();
  const dynamoStore = new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents });
  const world = new MemoryRegistry().put(
    { key: amd64, tags: [] },
    completeScan([finding('CVE-1', 'LOW')]),
  );
  const handler = createHandler(() => ({
    images: world,
    findings: world,
    store: store ?? dynamoStore,
    policy: policyOf(),
    clock: () => new Date('2026-11-23T00:00:00Z'),
  }));
  return { handler, world, store: dynamoStore };
}

describe('evaluate handler (SQS batch, partial batch failures)', () => {
  it('evaluates the digests named by real-shaped events and stores verdicts', async () => {
    const { handler, store } = await setup();
    const result = await handler(loadFixture('sqs/ecr-push-in-sqs'));
    expect(result.batchItemFailures).toEqual([]);
    expect((await store.get(amd64))?.verdict).toBe('PASS');
  });

  it('coalesces a burst of Inspector2 Finding events about one digest into one evaluation', async () => {
    const { handler, world } = await setup();
    const finding = loadFixture('eventbridge/inspector2-finding-ecr');
    const result = await handler(sqsEvent(Array.from({ length: 8 }, () => finding)));
    expect(result.batchItemFailures).toEqual([]);
    expect(world.calls).toEqual({ describeImage: 1, getFindings: 1 });
  });

  it('fails exactly the malformed or foreign messages, which then reach the DLQ', async () => {
    const { handler, store } = await setup();
    const good = sqsRecord(loadFixture('eventbridge/ecr-image-scan-complete'), 'good');
    const notJson = sqsRecord('{not json', 'not-json');
    const foreign = sqsRecord(
      { source: 'aws.s3', 'detail-type': 'Object Created', detail: {} },
      'foreign',
    );
    const badDigest = sqsRecord(
      {
        ...loadFixture('eventbridge/ecr-image-action-push'),
        detail: {
          'action-type': 'PUSH',
          result: 'SUCCESS',
          'repository-name': 'prod/api',
          'image-digest': 'sha256:nope',
        },
      },
      'bad-digest',
    );
    const result = await handler({ Records: [good, notJson, foreign, badDigest] });
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([
      'bad-digest',
      'foreign',
      'not-json',
    ]);
    expect((await store.get(amd64))?.verdict).toBe('PASS');
  });

  it('fails every message about a digest whose evaluation failed, and only those', async () => {
    const broken: VerdictStore = {
      get: async (key) => {
        if (key.digest === AMD64) throw new Error('DynamoDB unavailable');
        return undefined;
      },
      write: async () => {},
    };
    const { handler, world } = await setup(broken);
    const other = keyOf('prod/web', 7);
    world.put({ key: other, tags: ['1'] }, completeScan([]));
    const scan = loadFixture('eventbridge/ecr-image-scan-complete');
    const result = await handler({
      Records: [
        sqsRecord(scan, 'a'),
        sqsRecord(scan, 'b'),
        sqsRecord(evaluateRequestEvent(other, 'manual', new Date()), 'c'),
      ],
    });
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['a', 'b']);
  });

  it('rejects an event that is not an SQS batch', async () => {
    const { handler } = await setup();
    await expect(handler({ detail: {} })).rejects.toThrow();
  });
});
