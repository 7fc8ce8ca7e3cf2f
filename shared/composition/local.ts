import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsClient } from '../adapters/aws/clients';
import { createVerdictTable } from '../adapters/aws/create-verdict-table';
import { DynamoDbFindingsFacts } from '../adapters/aws/dynamodb-findings-facts';
import { DynamoDbVerdictStore, documentClient } from '../adapters/aws/dynamodb-verdict-store';
import { allowlistKeys, S3AllowlistStore } from '../adapters/aws/s3-allowlist-store';
import { DynamoDbVerdictCatalog } from '../adapters/aws/verdict-catalog';
import { ChangeRecorder } from '../adapters/local/change-recorder';
import { FileSigner } from '../adapters/local/file-signer';
import { FolderAllowlistStore } from '../adapters/local/folder-allowlist-store';
import { InProcessTopic } from '../adapters/local/in-process-topic';
import type { FindingsFactsStore, Signer, VerdictCatalog, VerdictStore } from '../ports';
import type { AllowlistStore, MessagePublisher } from '../ports/publishing';

/**
 * `npm start`'s composition root: what only the local run has (dynalite for DynamoDB, a
 * recorder standing in for the stream, a key file, a folder or s3rver for the allowlist).
 * Everything the hops share with their functions comes from composition/{evaluate,changes,
 * notify,allowlist}.ts.
 */

export interface LocalTable {
  documents: DynamoDBDocumentClient;
  store: VerdictStore;
  /** The findings facts, in the same table as on AWS. */
  facts: FindingsFactsStore;
  /** Records what a DynamoDB stream would carry for every write through `store`. */
  recorder(store: VerdictStore): ChangeRecorder;
  destroy(): void;
}

/** The verdict table on a local DynamoDB endpoint (dynalite), created when missing. */
export async function openLocalTable(endpoint: string, tableName: string): Promise<LocalTable> {
  const client = awsClient(DynamoDBClient, {
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await createVerdictTable(client, tableName);
  const documents = documentClient(client);
  return {
    documents,
    store: new DynamoDbVerdictStore({ tableName, client: documents }),
    facts: new DynamoDbFindingsFacts({ tableName, client: documents }),
    recorder: (store) => new ChangeRecorder(store, documents, tableName),
    destroy: () => client.destroy(),
  };
}

/** The current verdicts, as the daily digest reads them. */
export function currentVerdictsIn(
  tableName: string,
  documents: DynamoDBDocumentClient,
): VerdictCatalog {
  // One segment: the local table is small (no DescribeTable call).
  return new DynamoDbVerdictCatalog({ tableName, client: documents, segments: 1 });
}

/** The local run's allowlist key, created on first use and kept in the data folder. */
export function localAllowlistSigner(dataDir: string): Signer {
  return FileSigner.loadOrCreate(join(dataDir, 'allowlist-signing-key.pem'));
}

export type PublishedFile = keyof ReturnType<typeof allowlistKeys>;

export interface LocalAllowlistTarget {
  store: AllowlistStore;
  /** One published file, read back as a consumer would fetch it. */
  read(name: PublishedFile): Promise<Buffer>;
  close(): void;
}

/** A folder on this machine. */
export function folderAllowlistTarget(folder: string): LocalAllowlistTarget {
  const store = new FolderAllowlistStore(folder);
  return { store, read: async (name) => readFileSync(store.paths[name]), close: () => {} };
}

/** A bucket behind an S3-compatible endpoint (s3rver, MinIO), addressed path-style. */
export function s3AllowlistTarget(
  endpoint: string,
  bucket: string,
  prefix: string,
): LocalAllowlistTarget {
  const client = awsClient(S3Client, {
    endpoint,
    region: 'eu-west-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const keys = allowlistKeys(prefix);
  return {
    store: new S3AllowlistStore({ bucket, prefix, client }),
    async read(name) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keys[name] }));
      return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
    },
    close: () => client.destroy(),
  };
}

/**
 * The verdict-events topic in process: `subscriber` gets each message's SNS subject (for
 * the run's output) and body (what notify reads), as the topic would deliver it.
 */
export function inProcessTopic(
  subscriber: (message: { subject: string; body: string }) => Promise<void>,
): MessagePublisher {
  return new InProcessTopic(subscriber);
}
