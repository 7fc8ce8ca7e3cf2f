import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { VERDICT_TABLE } from '../../shared/adapters/aws/verdict-table';
import { synthWatcher } from './support';

// The verdict table (infra/storage.ts).
// GIVEN the watcher with its defaults only.
const bare = synthWatcher();

describe('verdict table', () => {
  const T = VERDICT_TABLE;

  it('THEN it has the layout of VERDICT_TABLE: keys, TTL, stream, sparse admitted, refused and fleet indexes', () => {
    bare.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: T.partitionKey, KeyType: 'HASH' },
        { AttributeName: T.sortKey, KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: T.ttlAttribute, Enabled: true },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      DeletionProtectionEnabled: true,
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
    });
    bare.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it.each([
    ['DESTROY', { removalPolicy: RemovalPolicy.DESTROY }, false, 'Delete'],
    [
      'DESTROY with protection on',
      { removalPolicy: RemovalPolicy.DESTROY, deletionProtection: true },
      true,
      'Delete',
    ],
    ['RETAIN with protection off', { deletionProtection: false }, false, 'Retain'],
  ])('WHEN %s THEN deletion protection follows', (_, watcher, protection, policy) => {
    const { template } = synthWatcher({ watcher });
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: policy,
      Properties: Match.objectLike({ DeletionProtectionEnabled: protection }),
    });
  });
});
