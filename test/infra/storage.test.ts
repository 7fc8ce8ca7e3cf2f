import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { VERDICT_TABLE } from '../../shared/adapters/aws/verdict-table';
import { shortName } from './hops';
import { synthFull, synthWatcher } from './support';
import { ACCOUNT, physical, REGION, Resolver } from './template-values';

type Json = Record<string, unknown>;

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

describe('dead-letter queues: which queues may dead-letter into them (RedriveAllowPolicy)', () => {
  // GIVEN the watcher with every optional part on, so every queue exists.
  const { template } = synthFull();
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties?: Json }
  >;
  const resolver = new Resolver(resources);
  const queues = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue');
  const props = (id: string) => (resolver.resolve(resources[id]?.Properties ?? {}) ?? {}) as Json;
  // The queues whose RedrivePolicy names each queue as its dead-letter target.
  const fedBy = (dlq: string) =>
    queues
      .filter(
        ([id]) =>
          (props(id).RedrivePolicy as Json | undefined)?.deadLetterTargetArn ===
          physical('AWS::SQS::Queue', dlq, 'Arn'),
      )
      .map(([id]) => id);
  // A queue's real ARN: its QueueName when it has one, else CloudFormation's generated name.
  const realArn = (id: string) =>
    `arn:aws:sqs:${REGION}:${ACCOUNT}:${(props(id).QueueName as string | undefined) ?? id}`;

  const answers = Object.fromEntries(
    queues
      .filter(([id]) => /Dlq|Failures/.test(id))
      .map(([id]) => {
        const policy = props(id).RedriveAllowPolicy as
          | { redrivePermission: string; sourceQueueArns?: string[] }
          | undefined;
        const allowed =
          policy?.redrivePermission === 'byQueue'
            ? queues
                .filter(([q]) => policy.sourceQueueArns?.includes(realArn(q)))
                .map(([q]) => shortName(q))
            : (policy?.redrivePermission ?? 'allowAll (the default)');
        return [shortName(id), { allowed, fedBy: fedBy(id).map(shortName) }];
      }),
  );

  it('THEN the DLQs only services fill take no queue, the attestor DLQ only its own queue; the four older ones are still open (docs/deploy.md says why)', () => {
    const open = 'allowAll (the default)';
    expect(answers).toEqual({
      DeliveryDlq: { allowed: 'denyAll', fedBy: [] },
      PublicationAllowlistFailures: { allowed: 'denyAll', fedBy: [] },
      RescansPlannerFailures: { allowed: 'denyAll', fedBy: [] },
      AttestationDlq: { allowed: ['AttestationQueue'], fedBy: ['AttestationQueue'] },
      EvaluationDlq: { allowed: open, fedBy: ['EvaluationQueue'] },
      PublicationRebuildDlq: { allowed: open, fedBy: ['PublicationRebuildQueue'] },
      PublicationNotifyDlq: { allowed: open, fedBy: ['PublicationNotifyQueue'] },
      RescansContinuationDlq: { allowed: open, fedBy: ['RescansContinuationQueue'] },
    });
  });

  it('THEN the byQueue source is named by the ARN its QueueName gives, so the template has no cycle', () => {
    const attestor = queues.find(([id]) => shortName(id) === 'AttestationQueue')?.[0] as string;
    expect(props(attestor).QueueName).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    const dlq = resources[queues.find(([id]) => shortName(id) === 'AttestationDlq')?.[0] as string];
    expect(JSON.stringify(dlq)).not.toContain(attestor);
  });
});
