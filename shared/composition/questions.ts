import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { awsClient } from '../adapters/aws/clients';
import { documentClient } from '../adapters/aws/dynamodb-verdict-store';
import { DynamoDbFleetScan } from '../adapters/aws/fleet-scan';
import { DynamoDbVerdictReader } from '../adapters/aws/verdict-reader';
import { TableUnavailableError } from '../domain/errors';
import type { FleetScan, VerdictReader } from '../ports/questions';
import { withRetry } from '../retry';

/**
 * The questions' composition root (explain, search, what-if): the CLI against the deployed
 * table and against the one `npm start` leaves, the benchmarks and the tests build their
 * ports here, so every caller reads the table the same way.
 */

export interface QuestionTable {
  tableName: string;
  /** A local DynamoDB API (dynalite); absent: AWS with the default credentials. */
  endpoint?: string;
  region?: string;
  /** Where the table is, for messages: `eu-west-1`, or `.local/dynamodb (npm start)`. */
  where?: string;
  /** `table`: the fleet questions scan the whole table, not the fleet index (docs/architecture.md). */
  source?: 'auto' | 'table';
}

export interface QuestionPorts {
  reader: VerdictReader;
  /** Every current verdict and the stored findings facts, in one parallel Scan. */
  fleet: FleetScan;
}

/** Opens the table (one DescribeTable to check it is there), runs `use`, closes the client. */
export async function withQuestions<T>(
  table: QuestionTable,
  use: (ports: QuestionPorts) => Promise<T>,
): Promise<T> {
  const client = awsClient(DynamoDBClient, {
    ...(table.endpoint && {
      endpoint: table.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    ...(table.region && { region: table.region }),
    // The SDK's decoder checks each binary attribute against a regular expression first: a
    // tenth of the client's time reading the fleet (two binary attributes a digest), for
    // text DynamoDB itself encoded.
    base64Decoder: (text: string) => Buffer.from(text, 'base64'),
  });
  // The SDK's logger middleware redacts every response for a logger that discards it: with
  // no logger configured that walk was a tenth of reading the fleet.
  client.middlewareStack.remove('loggerMiddleware');
  try {
    const where = table.where ?? (await client.config.region().catch(() => 'the default region'));
    await check(client, table.tableName, where);
    const options = { tableName: table.tableName, client: documentClient(client) };
    return await use({
      reader: new DynamoDbVerdictReader(options),
      fleet: new DynamoDbFleetScan({ ...options, ...(table.source && { source: table.source }) }),
    });
  } finally {
    client.destroy();
  }
}

async function check(client: DynamoDBClient, tableName: string, where: string): Promise<void> {
  try {
    await withRetry(() => client.send(new DescribeTableCommand({ TableName: tableName })));
  } catch (error) {
    const name = (error as { name?: string }).name;
    const why =
      name === 'ResourceNotFoundException'
        ? `there is no table ${tableName} in ${where}`
        : `cannot read table ${tableName} in ${where} (${name ?? (error as Error).message})`;
    throw new TableUnavailableError(
      `${why}: pass --table (the stack output TableName) and --region, or --local for the table npm start leaves`,
      { cause: error },
    );
  }
}
