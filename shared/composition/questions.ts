import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { awsClient } from '../adapters/aws/clients';
import { DynamoDbFindingsFacts } from '../adapters/aws/dynamodb-findings-facts';
import { documentClient } from '../adapters/aws/dynamodb-verdict-store';
import { DynamoDbVerdictCatalog } from '../adapters/aws/verdict-catalog';
import { DynamoDbVerdictReader } from '../adapters/aws/verdict-reader';
import { TableUnavailableError } from '../domain/errors';
import type { VerdictReader } from '../ports/questions';
import { withRetry } from '../retry';
import type { FleetPorts } from '../services/fleet-questions';

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
}

export interface QuestionPorts {
  reader: VerdictReader;
  /** Every current verdict (parallel Scan segments) and the stored findings facts. */
  fleet: FleetPorts;
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
  });
  try {
    const where = table.where ?? (await client.config.region().catch(() => 'the default region'));
    await check(client, table.tableName, where);
    const options = { tableName: table.tableName, client: documentClient(client) };
    return await use({
      reader: new DynamoDbVerdictReader(options),
      fleet: {
        verdicts: new DynamoDbVerdictCatalog(options),
        facts: new DynamoDbFindingsFacts(options),
      },
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
