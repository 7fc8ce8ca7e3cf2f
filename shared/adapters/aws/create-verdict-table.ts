import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { sleep } from '../../retry';
import { VERDICT_TABLE as T } from './verdict-table';

/**
 * Creates the verdict table for local runs and tests, with the same keys and index as the
 * CDK construct (both read VERDICT_TABLE). In AWS the stack creates it.
 */
export async function createVerdictTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: T.partitionKey, AttributeType: 'S' },
          { AttributeName: T.sortKey, AttributeType: 'S' },
          { AttributeName: T.admittedPartitionKey, AttributeType: 'N' },
          { AttributeName: T.refusedPartitionKey, AttributeType: 'N' },
          { AttributeName: T.refusedSortKey, AttributeType: 'S' },
          { AttributeName: T.fleetPartitionKey, AttributeType: 'N' },
        ],
        KeySchema: [
          { AttributeName: T.partitionKey, KeyType: 'HASH' },
          { AttributeName: T.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: T.admittedIndex,
            KeySchema: [
              { AttributeName: T.admittedPartitionKey, KeyType: 'HASH' },
              { AttributeName: T.admittedSortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...T.admittedProjection] },
          },
          {
            IndexName: T.refusedIndex,
            KeySchema: [
              { AttributeName: T.refusedPartitionKey, KeyType: 'HASH' },
              { AttributeName: T.refusedSortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...T.refusedProjection] },
          },
          {
            IndexName: T.fleetIndex,
            KeySchema: [
              { AttributeName: T.fleetPartitionKey, KeyType: 'HASH' },
              { AttributeName: T.fleetSortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...T.fleetProjection] },
          },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
  } catch (error) {
    if (
      !(error instanceof ResourceInUseException) &&
      (error as Error).name !== 'ResourceInUseException'
    ) {
      throw error;
    }
  }
  for (let i = 0; i < 100; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const active =
      out.Table?.TableStatus === 'ACTIVE' &&
      (out.Table.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE');
    if (active) return;
    await sleep(50);
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}
