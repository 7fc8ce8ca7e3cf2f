import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHandler, logger } from '../../functions/allowlist/handler';
import { DynamoDbAdmittedImages } from '../../shared/adapters/aws/admitted-images';
import { DynamoDbSequenceCounter } from '../../shared/adapters/aws/allowlist-sequence';
import type { BatchMetrics } from '../../shared/adapters/aws/batch-metrics';
import { awsClient } from '../../shared/adapters/aws/clients';
import {
  DynamoDbVerdictStore,
  documentClient,
} from '../../shared/adapters/aws/dynamodb-verdict-store';
import { S3AllowlistStore } from '../../shared/adapters/aws/s3-allowlist-store';
import { FileSigner, generatePrivateKeyPem } from '../../shared/adapters/local/file-signer';
import { sigstoreAllowlistSignatures } from '../../shared/adapters/sigstore/allowlist-signatures';
import type { Allowlist } from '../../shared/domain/allowlist';
import type { VerdictValue } from '../../shared/domain/verdict';
import { planWrite } from '../../shared/domain/verdict-record';
import { verifyAllowlist } from '../../shared/services/verify-allowlist';
import { draftOf, keyOf } from '../support/builders';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { type FaultProxy, seeded, startFaultProxy } from '../support/fault-proxy';
import { type LocalS3, startS3rver } from '../support/s3rver';

// The allowlist hop under faults: the admitted index read from dynalite and the signed
// document written to s3rver, each behind a fault proxy. A publication either lands whole
// (what a reader finds verifies, its sequence never goes back) or fails and is retried, as the
// rebuild queue retries it; the list that lands is the fault-free run's. (s3rver ignores
// If-Match, so the single-writer condition itself is not exercised here: docs/allowlist.md.)

const DIGESTS = 240;
const NOW = new Date(Math.floor(Date.now() / 60_000) * 60_000);
const HOUR = 3_600_000;
const FAULTS = {
  throttle: 0.08,
  'server-error': 0.06,
  latency: 0.05,
  reset: 0.05,
  'lost-response': 0.06,
};
const unprinted: BatchMetrics = {
  addMetric: () => undefined,
  publishStoredMetrics: () => undefined,
};
const signer = new FileSigner(generatePrivateKeyPem());
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

let dynamo: LocalDynamo;
let s3: LocalS3;
let proxies: FaultProxy[];
/** S3 is down (every request a 500) while this is set. */
let s3Down = false;

async function tableOfVerdicts(): Promise<string> {
  const table = await dynamo.newTable();
  const store = new DynamoDbVerdictStore({ tableName: table, client: dynamo.documents });
  const verdicts: VerdictValue[] = ['PASS', 'WARN', 'FAIL', 'PENDING', 'PASS'];
  for (let n = 1; n <= DIGESTS; n++) {
    const expiresAt = n % 7 === 0 ? new Date(NOW.getTime() + (n % 2 ? 1 : -1) * HOUR) : undefined;
    await store.write(
      planWrite(
        undefined,
        draftOf(keyOf(`team-${n % 6}/app`, n), {
          tags: [`1.${n}.0`],
          verdict: verdicts[n % 5] ?? 'PASS',
          ...(expiresAt && { expiresAt: expiresAt.toISOString() }),
        }),
      ),
    );
  }
  return table;
}

function publisher(table: string, prefix: string, endpoints: { dynamo: string; s3: string }) {
  const dynamoClient = awsClient(DynamoDBClient, {
    endpoint: endpoints.dynamo,
    region: 'eu-west-1',
    credentials,
    requestHandler: { requestTimeout: 2_000 },
  });
  const s3Client = awsClient(S3Client, {
    endpoint: endpoints.s3,
    region: 'eu-west-1',
    forcePathStyle: true,
    credentials,
    requestHandler: { requestTimeout: 2_000 },
  });
  const documents = documentClient(dynamoClient);
  const handler = createHandler(
    () => ({
      admitted: new DynamoDbAdmittedImages({ tableName: table, client: documents, pageSize: 25 }),
      sequence: new DynamoDbSequenceCounter(table, documents),
      signer,
      signatures: sigstoreAllowlistSignatures,
      store: new S3AllowlistStore({ bucket: s3.bucket, prefix, client: s3Client }),
      policyHash: 'sha256:policy',
      validityMs: 24 * HOUR,
      maxWaitMs: 0,
      clock: () => NOW,
      wait: async () => undefined,
    }),
    unprinted,
  );
  return {
    publish: () => handler({ source: 'aws.scheduler', 'detail-type': 'Scheduled Event' }),
    close: () => {
      dynamoClient.destroy();
      s3Client.destroy();
    },
  };
}

/** What a reader finds under the prefix, read past the proxies: verified, or nothing. */
async function published(prefix: string): Promise<Allowlist | undefined> {
  try {
    const out = await s3.client.send(
      new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}allowlist.json` }),
    );
    const bytes = Buffer.from(
      await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    const bundle = JSON.parse(
      Buffer.from(out.Metadata?.['sigstore-bundle'] ?? '', 'base64').toString() || 'null',
    ) as unknown;
    return verifyAllowlist(bytes, bundle, {
      publicKeyPem: await signer.publicKeyPem(),
      now: NOW,
      signatures: sigstoreAllowlistSignatures,
    });
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

beforeAll(async () => {
  // Each failed attempt logs its error; the figures line says what happened.
  logger.setLogLevel('SILENT');
  [dynamo, s3] = await Promise.all([startDynalite(), startS3rver()]);
  proxies = await Promise.all([
    startFaultProxy(dynamo.endpoint, FAULTS, seeded(5)),
    startFaultProxy(s3.endpoint, FAULTS, seeded(6), 's3', () => s3Down),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([...proxies.map((p) => p.stop()), dynamo.stop(), s3.stop()]);
});

it('publications through DynamoDB and S3 faults land whole, never go back, and list what a fault-free run lists', async () => {
  const [cleanTable, faultyTable] = [await tableOfVerdicts(), await tableOfVerdicts()];
  const clean = publisher(cleanTable, 'clean/', { dynamo: dynamo.endpoint, s3: s3.endpoint });
  await clean.publish();
  clean.close();
  const reference = await published('clean/');
  const [dynamoProxy, s3Proxy] = proxies as [FaultProxy, FaultProxy];
  const faulty = publisher(faultyTable, 'faulty/', {
    dynamo: dynamoProxy.endpoint,
    s3: s3Proxy.endpoint,
  });
  let failures = 0;
  let landed = 0;
  let lastSequence = 0;
  const duringOutage: (number | undefined)[] = [];
  // Ten publications, each retried until it lands (the rebuild queue's redelivery); during
  // the fifth, S3 is down for one attempt: that attempt fails and readers keep the last list.
  for (let attempt = 0; landed < 10 && attempt < 100; attempt++) {
    s3Down = landed === 4 && duringOutage.length === 0;
    try {
      await faulty.publish();
      landed += 1;
    } catch {
      failures += 1;
    }
    const seen = await published('faulty/');
    if (s3Down) duringOutage.push(lastSequence, seen?.sequence);
    s3Down = false;
    if (seen) {
      expect(seen.sequence).toBeGreaterThanOrEqual(lastSequence);
      lastSequence = seen.sequence;
    }
  }
  faulty.close();
  const final = await published('faulty/');
  console.log(
    `allowlist faults: ${landed} publications landed after ${failures} failed attempts, ` +
      `DynamoDB requests ${dynamoProxy.requests} injected ${JSON.stringify(dynamoProxy.injected)}, ` +
      `S3 requests ${s3Proxy.requests} injected ${JSON.stringify(s3Proxy.injected)}, ` +
      `final sequence ${final?.sequence}, listed ${Object.values(final?.images ?? {}).reduce((n, d) => n + Object.keys(d).length, 0)} digests (fault-free ${Object.values(reference?.images ?? {}).reduce((n, d) => n + Object.keys(d).length, 0)})`,
  );
  expect(landed).toBe(10);
  // Fail static: the attempt during the outage failed, and what readers found was the last list.
  expect(failures).toBeGreaterThanOrEqual(1);
  expect(duringOutage[1]).toBe(duringOutage[0]);
  expect(duringOutage[0]).toBeGreaterThanOrEqual(4);
  expect(Object.values(s3Proxy.injected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  expect(Object.values(dynamoProxy.injected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  expect(final?.images).toEqual(reference?.images);
  expect(Object.keys(reference?.images ?? {}).length).toBe(6);
  expect(final?.sequence).toBeGreaterThanOrEqual(10);
}, 180_000);
