import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { awsClient } from '../../shared/adapters/aws/clients';
import { createVerdictTable } from '../../shared/adapters/aws/create-verdict-table';
import { documentClient } from '../../shared/adapters/aws/dynamodb-verdict-store';

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  documents: DynamoDBDocumentClient;
  /** Creates a fresh verdict table and returns its name. */
  newTable(prefix?: string): Promise<string>;
  stop(): Promise<void>;
}

let tables = 0;

/** Starts dynalite (in-memory DynamoDB API) on a random loopback port. */
export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  // Client and server share one event loop: a long synchronous stretch (a benchmark building
  // 100,000 items) outlasts Node's 5 s keep-alive timeout, the server closes the idle sockets
  // unseen, and the client's next request on one is reset (ECONNRESET).
  server.keepAliveTimeout = 10 * 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = awsClient(DynamoDBClient, {
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return {
    endpoint,
    client,
    documents: documentClient(client),
    async newTable(prefix = 'verdicts') {
      tables += 1;
      const name = `${prefix}-${process.pid}-${tables}`;
      await createVerdictTable(client, name);
      return name;
    },
    async stop() {
      client.destroy();
      await new Promise<void>((resolve, reject) =>
        server.close((e) => (e ? reject(e) : resolve())),
      );
    },
  };
}
