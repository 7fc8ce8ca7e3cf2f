import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliCredentialsStackSynthesizer, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { RegistryWatcher } from '../../infra/registry-watcher';
import { RegistryWatcherStack } from '../../infra/stack';
import { VERDICT_TABLE } from '../../shared/adapters/aws/verdict-table';
import { NOTIFY_TIMEOUT } from '../../shared/publishing-config';
import { actionsOf, propsOf, resourcesOf, statementsOf, synthWatcher, testApp } from './support';

type Json = Record<string, unknown>;
const WATCHED = ['prod/api', 'team/*'];
const SLACK = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack/webhook-AbCdEf';

// GIVEN the watcher with every optional part on (Slack, e-mail, watched repositories).
const full = synthWatcher({
  watcher: { repositories: WATCHED, slackWebhookSecret: SLACK, alarmEmail: 'ops@example.com' },
});
// GIVEN the watcher with its defaults only.
const bare = synthWatcher();

function functionId(template: Template, name: string): string {
  const found = resourcesOf(template, 'AWS::Lambda::Function').filter(([id]) => id.includes(name));
  if (found.length !== 1) throw new Error(`expected one function ${name}, found ${found.length}`);
  return (found[0] as [string, Json])[0];
}
const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const queueId = (template: Template, part: string) =>
  (resourcesOf(template, 'AWS::SQS::Queue').find(([id]) => id.includes(part)) as [string, Json])[0];

describe('EventBridge rules → evaluate queue', () => {
  const rules = () => resourcesOf(full.template, 'AWS::Events::Rule');

  it('THEN the four rules of DESIGN §3 match the watched repositories', () => {
    const patterns = rules().map(([, r]) => (r as { Properties: Json }).Properties.EventPattern);
    expect(patterns).toEqual(
      expect.arrayContaining([
        {
          source: ['aws.ecr'],
          'detail-type': ['ECR Image Action'],
          detail: {
            'action-type': ['PUSH', 'DELETE'],
            result: ['SUCCESS'],
            'repository-name': ['prod/api', { prefix: 'team/' }],
          },
        },
        {
          source: ['aws.ecr'],
          'detail-type': ['ECR Image Scan'],
          detail: {
            'scan-status': ['COMPLETE'],
            'repository-name': ['prod/api', { prefix: 'team/' }],
          },
        },
        {
          source: ['aws.inspector2'],
          'detail-type': ['Inspector2 Scan'],
          detail: {
            'repository-name': [
              { wildcard: '*:repository/prod/api' },
              { wildcard: '*:repository/team/*' },
            ],
          },
        },
        {
          source: ['aws.inspector2'],
          'detail-type': ['Inspector2 Finding'],
          detail: {
            resources: {
              type: ['AWS_ECR_CONTAINER_IMAGE'],
              details: {
                awsEcrContainerImage: { repositoryName: ['prod/api', { prefix: 'team/' }] },
              },
            },
          },
        },
      ]),
    );
    expect(patterns).toHaveLength(4);
  });

  it('THEN every rule targets the evaluate queue, retries for 24 h, then the delivery DLQ', () => {
    const queue = queueId(full.template, 'EvaluationQueue');
    const dlq = queueId(full.template, 'DeliveryDlq');
    for (const [, rule] of rules()) {
      expect((rule as { Properties: Json }).Properties.Targets).toEqual([
        expect.objectContaining({
          Arn: arnOf(queue),
          DeadLetterConfig: { Arn: arnOf(dlq) },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        }),
      ]);
    }
  });

  it('WHEN no repository is listed THEN the rules do not filter by repository', () => {
    const text = JSON.stringify(resourcesOf(bare.template, 'AWS::Events::Rule'));
    expect(text).not.toContain('repository-name');
    expect(text).not.toContain('repositoryName');
  });
});

describe('evaluate queue and function', () => {
  const evaluate = functionId(full.template, 'Evaluate');
  const queue = queueId(full.template, 'EvaluationQueue');

  it('THEN the queue is encrypted, redrives to its DLQ and outlasts 6 function timeouts', () => {
    const fn = propsOf(full.template, 'AWS::Lambda::Function', evaluate);
    const q = propsOf(full.template, 'AWS::SQS::Queue', queue);
    expect(q).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: arnOf(queueId(full.template, 'EvaluationDlq')),
        maxReceiveCount: 5,
      },
    });
    expect(q.VisibilityTimeout).toBeGreaterThanOrEqual(6 * (fn.Timeout as number));
  });

  it('THEN EventBridge may send to it only from our rules, and only over TLS', () => {
    const policy = resourcesOf(full.template, 'AWS::SQS::QueuePolicy').find(([, r]) =>
      JSON.stringify(r).includes(`"${queue}"`),
    ) as [string, Json];
    const statements = (policy[1] as { Properties: { PolicyDocument: { Statement: Json[] } } })
      .Properties.PolicyDocument.Statement;
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Deny',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          Condition: { ArnEquals: { 'aws:SourceArn': expect.anything() } },
        }),
      ]),
    );
  });

  it('THEN the event source reports partial failures and caps concurrency', () => {
    full.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(evaluate),
      EventSourceArn: arnOf(queue),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('THEN it reads, writes and batch-reads image items only (IMG#), never other partitions', () => {
    const dynamo = statementsOf(full.template, 'EvaluateRole').filter((s) =>
      JSON.stringify(s.Action).includes('dynamodb:'),
    );
    expect(dynamo).toEqual([
      expect.objectContaining({
        Action: [
          'dynamodb:BatchGetItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
        ],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['IMG#*'] } },
      }),
    ]);
  });

  it('WHEN evaluateMaxConcurrency is 10 THEN the event source allows 10', () => {
    const { template } = synthWatcher({ watcher: { evaluateMaxConcurrency: 10 } });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });
});

describe('verdict table', () => {
  const T = VERDICT_TABLE;

  it('THEN it has the layout of VERDICT_TABLE: keys, TTL, stream, sparse admitted index', () => {
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

describe('changes: stream → SNS + rebuild requests', () => {
  const changes = functionId(full.template, 'Changes');

  it('THEN the stream mapping bisects, retries 10 times, then keeps the whole batch in S3', () => {
    full.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(changes),
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('Verdicts'), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 86400,
      ParallelizationFactor: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailedRecords'), 'Arn'] },
        },
      },
      MetricsConfig: { Metrics: ['EventCount'] },
      FilterCriteria: { Filters: [{ Pattern: '{"dynamodb":{"Keys":{"sk":{"S":["CURRENT"]}}}}' }] },
    });
  });

  it('THEN it publishes to the verdict topic and writes only EVENT# markers', () => {
    const statements = statementsOf(full.template, 'ChangesRole');
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: 'sns:Publish',
          Resource: ref(expect.stringMatching(/VerdictEvents/)),
        }),
        expect.objectContaining({
          Action: [
            'dynamodb:DeleteItem',
            'dynamodb:GetItem',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
          ],
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['EVENT#*'] } },
        }),
      ]),
    );
  });
});

describe('allowlist: single writer, debounced, scheduled', () => {
  const allowlist = functionId(full.template, 'Allowlist');

  it('THEN rebuild requests wait in a FIFO queue for the 1 s debounce window, publications 3 s apart', () => {
    const q = propsOf(full.template, 'AWS::SQS::Queue', queueId(full.template, 'RebuildQueue'));
    expect(q).toMatchObject({
      FifoQueue: true,
      DelaySeconds: 1,
      ContentBasedDeduplication: false,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { maxReceiveCount: 5 },
    });
    const fn = propsOf(full.template, 'AWS::Lambda::Function', allowlist);
    expect(fn.ReservedConcurrentExecutions).toBe(1);
    expect(q.VisibilityTimeout).toBeGreaterThanOrEqual(6 * (fn.Timeout as number));
    expect(fn.Environment).toEqual({
      Variables: expect.objectContaining({
        ALLOWLIST_VALIDITY: '24h',
        ALLOWLIST_NOT_ADMITTED: '0',
        REBUILD_DEBOUNCE: '1s',
        REBUILD_MIN_INTERVAL: '3s',
        POLICY_FILE: '/var/task/policy.yaml',
      }),
    });
  });

  it('THEN a schedule re-signs it hourly, retrying into the delivery DLQ', () => {
    full.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      Target: Match.objectLike({
        Arn: arnOf(allowlist),
        DeadLetterConfig: { Arn: arnOf(queueId(full.template, 'DeliveryDlq')) },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
      }),
    });
  });

  it('WHEN the validity is 2 h THEN it is re-signed every 30 min and alarms after 2 h', () => {
    const { template } = synthWatcher({ watcher: { allowlistValidity: Duration.hours(2) } });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(30 minutes)',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('No allowlist was published for 2 h'),
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
    });
  });

  it('THEN the bucket is versioned, private, encrypted, TLS only, logged, and prunes old versions', () => {
    const [[bucketId, bucket]] = resourcesOf(full.template, 'AWS::S3::Bucket').filter(([id]) =>
      /Allowlist[0-9A-F]{8}$/.test(id),
    ) as [[string, { Properties: Json }]];
    expect(bucket.Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      },
      LoggingConfiguration: { DestinationBucketName: ref(expect.stringMatching(/AccessLogs/)) },
      LifecycleConfiguration: {
        Rules: [expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } })],
      },
    });
    full.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: ref(bucketId),
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('THEN it reads the admitted and refused indexes, counts the sequence, and writes only its three objects', () => {
    const statements = statementsOf(full.template, 'AllowlistRole');
    const s3 = statements.find((s) => JSON.stringify(s.Action).includes('s3:PutObject')) as Json;
    expect(s3.Action).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(JSON.stringify(s3.Resource)).toMatch(
      /"\/allowlist.json"\]\]\},\{.*"\/allowlist.json.sigstore.json"\]\]\},\{.*"\/allowlist.pub"\]\]\}\]$/,
    );
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: 'dynamodb:Query',
          Resource: ['admitted', 'refused'].map((index) => ({
            'Fn::Join': ['', [arnOf(expect.stringMatching(/Verdicts/)), `/index/${index}`]],
          })),
        }),
        expect.objectContaining({
          Action: 'dynamodb:UpdateItem',
          Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['ALLOWLIST'] } },
        }),
      ]),
    );
  });
});

describe('signing keys: two trust roots', () => {
  const keys = (template: Template) =>
    resourcesOf(template, 'AWS::KMS::Key').filter(
      ([, k]) => (k as { Properties: Json }).Properties.KeyUsage === 'SIGN_VERIFY',
    ) as [string, { Properties: { KeySpec: string; KeyPolicy: { Statement: Json[] } } }][];
  const keyOf = (template: Template, part: string) => {
    const found = keys(template).filter(([id]) => id.includes(part));
    if (found.length !== 1) throw new Error(`expected one ${part} key, found ${found.length}`);
    return (found[0] as (typeof found)[number])[1];
  };
  const statement = (template: Template, part: string, sid: string) =>
    keyOf(template, part).Properties.KeyPolicy.Statement.find((s) => s.Sid === sid);

  it('THEN there are two ECC_NIST_P256 keys: the allowlist function signs with one, evaluate with the other', () => {
    expect(keys(full.template)).toHaveLength(2);
    for (const [part, signer] of [
      ['AllowlistSigning', 'AllowlistRole'],
      ['AttestationSigning', 'EvaluateRole'],
    ] as const) {
      expect(keyOf(full.template, part).Properties.KeySpec).toBe('ECC_NIST_P256');
      expect(statement(full.template, part, 'TheSignerSigns')).toEqual({
        Sid: 'TheSignerSigns',
        Effect: 'Allow',
        Principal: { AWS: arnOf(expect.stringContaining(signer)) },
        Action: 'kms:Sign',
        Resource: '*',
        Condition: {
          StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' },
        },
      });
      expect(statement(full.template, part, 'NobodyElseSigns')).toMatchObject({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:Sign',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': arnOf(expect.stringContaining(signer)) } },
      });
    }
    const [fn] = resourcesOf(full.template, 'AWS::Lambda::Function').filter(([id]) =>
      id.includes('Allowlist'),
    ) as [[string, { Properties: { Environment: { Variables: Json } } }]];
    expect(fn[1].Properties.Environment.Variables.ALLOWLIST_KMS_KEY_ID).toEqual(
      arnOf(expect.stringContaining('AllowlistSigning')),
    );
    full.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          ATTESTATION_KMS_KEY_ID: {
            'Fn::GetAtt': [Match.stringLikeRegexp('AttestationSigning'), 'Arn'],
          },
        }),
      },
    });
  });

  it('THEN the bootstrap execution role administers each key without Sign or CreateGrant, and the account only reads and verifies', () => {
    for (const part of ['AllowlistSigning', 'AttestationSigning']) {
      const admin = statement(full.template, part, 'AdministratorManagesButNeverSigns') as Json;
      expect(JSON.stringify(admin.Principal)).toContain('cdk-hnb659fds-cfn-exec-role');
      expect(admin.Action).toEqual(expect.arrayContaining(['kms:PutKeyPolicy']));
      for (const a of admin.Action as string[]) expect(a).not.toMatch(/\*|:Sign$|:CreateGrant$/);
      expect(statement(full.template, part, 'AccountReadsThePublicKeyAndVerifies')).toMatchObject({
        Action: ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Verify'],
      });
      expect(statement(full.template, part, 'NoGrantCarriesSign')).toMatchObject({
        Effect: 'Deny',
        Action: 'kms:CreateGrant',
        Condition: { 'ForAnyValue:StringEquals': { 'kms:GrantOperations': ['Sign'] } },
      });
    }
  });

  it('WHEN a key administrator is named THEN the key policies name it instead', () => {
    const admin = 'arn:aws:iam::123456789012:role/key-admins';
    const { template } = synthWatcher({ keyAdministratorArn: admin });
    expect(
      statement(template, 'AllowlistSigning', 'AdministratorManagesButNeverSigns'),
    ).toMatchObject({ Principal: { AWS: admin } });
  });

  it('WHEN the stack is not deployed through the bootstrap roles and names no administrator THEN the synth says to name one', () => {
    const app = testApp();
    const build = (keyAdministratorArn?: string) =>
      new RegistryWatcherStack(app, `Cli${keyAdministratorArn ? 'Named' : ''}`, {
        synthesizer: new CliCredentialsStackSynthesizer(),
        ...(keyAdministratorArn && { keyAdministratorArn }),
      });
    expect(() => build()).toThrow(
      /keyAdministrator: this stack is not deployed through the CDK bootstrap roles/,
    );
    expect(() => build('arn:aws:iam::123456789012:role/deployer')).not.toThrow();
  });

  it('WHEN attestations are off THEN evaluate may neither sign nor push to ECR', () => {
    const { template } = synthWatcher({ watcher: { attestations: false } });
    expect(statement(template, 'AttestationSigning', 'TheSignerSigns')).toBeUndefined();
    const actions = actionsOf(template, 'EvaluateRole');
    for (const write of [
      'kms:Sign',
      'ecr:PutImage',
      'ecr:InitiateLayerUpload',
      'ecr:BatchDeleteImage',
    ]) {
      expect(actions).not.toContain(write);
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ATTESTATIONS_ENABLED: 'false' }) },
    });
  });

  it('WHEN existing keys are given THEN none is created and each role signs with its own', () => {
    const arn = (n: number) =>
      `arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-55555555555${n}`;
    const { template } = synthWatcher({ allowlistKeyArn: arn(1), attestationKeyArn: arn(2) });
    expect(keys(template)).toHaveLength(0);
    expect(statementsOf(template, 'AllowlistRole')).toEqual(
      expect.arrayContaining([expect.objectContaining({ Action: 'kms:Sign', Resource: arn(1) })]),
    );
    expect(statementsOf(template, 'EvaluateRole')).toEqual(
      expect.arrayContaining([expect.objectContaining({ Action: 'kms:Sign', Resource: arn(2) })]),
    );
    expect(JSON.stringify(statementsOf(template, 'EvaluateRole'))).not.toContain(arn(1));
  });

  it('WHEN one existing key is given for both THEN the synth fails', () => {
    const stack = new Stack(testApp(), 'Shared');
    const key = kms.Key.fromKeyArn(
      stack,
      'One',
      'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555',
    );
    expect(
      () => new RegistryWatcher(stack, 'W', { allowlistKey: key, attestationKey: key }),
    ).toThrow(/one key: the role that attests could sign allowlists/);
  });
});

describe('notify and the topics', () => {
  it('THEN both topics are KMS-encrypted and refuse publishers without TLS', () => {
    const topics = resourcesOf(full.template, 'AWS::SNS::Topic');
    expect(topics).toHaveLength(2);
    for (const [, topic] of topics) {
      expect((topic as { Properties: Json }).Properties.KmsMasterKeyId).toEqual(
        arnOf(expect.stringMatching(/TopicKey/)),
      );
    }
    expect(resourcesOf(full.template, 'AWS::SNS::TopicPolicy')).toHaveLength(2);
  });

  it('THEN notify reads the topic through its own queue (raw delivery), whose DLQ also takes failed SNS deliveries, and reads only the Slack secret', () => {
    const notify = functionId(full.template, 'Notify');
    const queue = queueId(full.template, 'NotifyQueue');
    const dlq = queueId(full.template, 'NotifyDlq');
    full.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      Endpoint: arnOf(queue),
      RawMessageDelivery: true,
      RedrivePolicy: { deadLetterTargetArn: arnOf(dlq) },
    });
    // SNS never invokes notify directly: no lambda subscription, no async retries.
    expect(
      resourcesOf(full.template, 'AWS::SNS::Subscription').filter(
        ([, r]) => (r as { Properties: Json }).Properties.Protocol === 'lambda',
      ),
    ).toHaveLength(0);
    expect(
      resourcesOf(full.template, 'AWS::Lambda::EventInvokeConfig')
        .map(([id]) => id)
        .join(),
    ).not.toContain('Notify');
    full.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(notify),
      EventSourceArn: arnOf(queue),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const fn = propsOf(full.template, 'AWS::Lambda::Function', notify);
    expect(fn.ReservedConcurrentExecutions).toBe(1);
    expect((fn.Environment as { Variables: Json }).Variables.NOTIFY_QUEUE_URL).toEqual(ref(queue));
    const secretStatements = statementsOf(full.template, 'NotifyRole').filter((s) =>
      JSON.stringify(s.Action).includes('secretsmanager'),
    );
    expect(secretStatements).toEqual([
      expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: SLACK }),
    ]);
    expect(
      statementsOf(full.template, 'NotifyRole').filter((s) =>
        JSON.stringify(s.Action).includes('sqs:ChangeMessageVisibility'),
      ),
    ).toEqual([expect.objectContaining({ Resource: arnOf(queue) })]);
  });

  it('THEN the queue outlives a 429 deferral: visibility 6 × the timeout, 10 receives, then its alarmed DLQ; a message waiting an hour alarms', () => {
    const queue = queueId(full.template, 'NotifyQueue');
    const props = propsOf(full.template, 'AWS::SQS::Queue', queue);
    expect(props.VisibilityTimeout).toBe(6 * 300);
    expect(props.MessageRetentionPeriod).toBe(4 * 24 * 3600);
    expect(props.RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(queueId(full.template, 'NotifyDlq')),
      maxReceiveCount: 10,
    });
    full.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Threshold: 3600,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('THEN its delivery markers are leased as long as it may run: one figure, the one docs/alerts.md gives', () => {
    const fn = propsOf(full.template, 'AWS::Lambda::Function', functionId(full.template, 'Notify'));
    expect(fn.Timeout).toBe(300);
    expect((fn.Environment as { Variables: Json }).Variables.MARKER_LEASE).toBe('5m');
    // The handler's default, when MARKER_LEASE is unset, is the same figure.
    expect(NOTIFY_TIMEOUT).toBe('5m');
    const docs = readFileSync(join(__dirname, '../../docs/alerts.md'), 'utf8');
    expect(docs).toContain('| `MARKER_LEASE` | no | `5m` |');
    expect(docs).toContain('5-minute lease');
    expect(docs).not.toMatch(/2-minute lease|`MARKER_LEASE` \| no \| `2m`/);
  });

  it('WHEN no Slack secret is given THEN there is no notify function', () => {
    expect(
      resourcesOf(bare.template, 'AWS::Lambda::Function')
        .map(([id]) => id)
        .join(),
    ).not.toContain('Notify');
    expect(resourcesOf(bare.template, 'AWS::SNS::Subscription')).toHaveLength(0);
  });
});

describe('nightly rescan', () => {
  it('THEN the scheduler starts the planner at the configured time in the configured zone', () => {
    const { template } = synthWatcher({
      watcher: { rescanSchedule: 'cron(30 3 ? * MON-FRI *)', rescanTimeZone: 'Europe/Paris' },
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 3 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      Target: Match.objectLike({
        Arn: arnOf(functionId(template, 'Planner')),
        Input: '{"action":"start"}',
        DeadLetterConfig: Match.anyValue(),
      }),
    });
  });

  it('THEN the planner continues through its own queue and plans into the evaluate queue', () => {
    const planner = functionId(full.template, 'Planner');
    const continuation = queueId(full.template, 'ContinuationQueue');
    const env = (
      propsOf(full.template, 'AWS::Lambda::Function', planner).Environment as { Variables: Json }
    ).Variables;
    expect(env).toMatchObject({
      CONTINUATION_QUEUE_URL: ref(continuation),
      EVALUATE_QUEUE_URL: ref(queueId(full.template, 'EvaluationQueue')),
      REPOSITORIES: 'prod/api,team/**',
    });
    full.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(planner),
      EventSourceArn: arnOf(continuation),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it.each([
    ['basic', true],
    ['enhanced', false],
  ] as const)('WHEN scanning is %s THEN StartImageScan granted: %s', (scanningMode, granted) => {
    const { template } = synthWatcher({ watcher: { scanningMode } });
    expect(actionsOf(template, 'PlannerRole').includes('ecr:StartImageScan')).toBe(granted);
    expect(
      JSON.stringify(template.findResources('AWS::IAM::Policy')).includes(
        'inspector2:ListFindings',
      ),
    ).toBe(!granted);
  });
});

describe('every function (the house construct)', () => {
  const functions = resourcesOf(full.template, 'AWS::Lambda::Function');

  it('THEN there are five, each nodejs22.x on arm64, traced, JSON logs into its own log group', () => {
    expect(functions).toHaveLength(5);
    for (const [, fn] of functions) {
      expect((fn as { Properties: Json }).Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON', LogGroup: ref(expect.stringMatching(/Logs/)) },
        Environment: {
          Variables: expect.objectContaining({ NODE_OPTIONS: '--enable-source-maps' }),
        },
      });
    }
    const groups = resourcesOf(full.template, 'AWS::Logs::LogGroup');
    expect(groups).toHaveLength(5);
    for (const [, g] of groups)
      expect((g as { Properties: Json }).Properties.RetentionInDays).toBe(90);
  });

  it('THEN no role uses a managed policy and no statement has a wildcard action', () => {
    for (const [, role] of resourcesOf(full.template, 'AWS::IAM::Role')) {
      expect((role as { Properties: Json }).Properties.ManagedPolicyArns).toBeUndefined();
    }
    const actions = resourcesOf(full.template, 'AWS::IAM::Policy').flatMap(([, p]) =>
      (
        p as { Properties: { PolicyDocument: { Statement: Json[] } } }
      ).Properties.PolicyDocument.Statement.flatMap((s) => [s.Action].flat() as string[]),
    );
    expect(actions.filter((a) => a === '*' || a.endsWith(':*'))).toEqual([]);
  });

  it('THEN "*" resources hold only actions that have no resource-level permissions', () => {
    const anywhere = resourcesOf(full.template, 'AWS::IAM::Policy').flatMap(([, p]) =>
      (
        p as { Properties: { PolicyDocument: { Statement: Json[] } } }
      ).Properties.PolicyDocument.Statement.filter((s) => s.Resource === '*').flatMap(
        (s) => [s.Action].flat() as string[],
      ),
    );
    expect([...new Set(anywhere)].sort()).toEqual([
      'dynamodb:ListStreams',
      'ecr:GetAuthorizationToken',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('THEN ECR access is scoped to the watched repositories of this account and region', () => {
    const ecr = statementsOf(full.template, 'EvaluateRole').find((s) =>
      JSON.stringify(s.Action).includes('ecr:DescribeImages'),
    ) as Json;
    expect(JSON.stringify(ecr.Resource)).toBe(
      JSON.stringify(
        ['prod/api', 'team/*'].map((name) => ({
          'Fn::Join': [
            '',
            [
              'arn:',
              ref('AWS::Partition'),
              ':ecr:',
              ref('AWS::Region'),
              ':',
              ref('AWS::AccountId'),
              `:repository/${name}`,
            ],
          ],
        })),
      ),
    );
  });
});

describe('alarms and outputs', () => {
  const alarms = resourcesOf(full.template, 'AWS::CloudWatch::Alarm').map(
    ([, a]) => (a as { Properties: Json }).Properties,
  );

  it('THEN every dead-letter queue has an alarm at one message', () => {
    const dlqs = resourcesOf(full.template, 'AWS::SQS::Queue')
      .map(([id]) => id)
      .filter((id) => /Dlq|Failures/.test(id));
    // delivery, evaluate, rebuild, notify, continuation; allowlist and planner on-failure
    expect(dlqs).toHaveLength(7);
    for (const dlq of dlqs) {
      expect(alarms).toContainEqual(
        expect.objectContaining({
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        }),
      );
    }
  });

  it('THEN every function alarms on errors and on sustained throttling', () => {
    for (const [id] of resourcesOf(full.template, 'AWS::Lambda::Function')) {
      for (const metric of ['Errors', 'Throttles']) {
        expect(alarms).toContainEqual(
          expect.objectContaining({
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: ref(id) }],
          }),
        );
      }
    }
  });

  it('THEN the allowlist alarms when nothing was published for its whole validity', () => {
    expect(alarms).toContainEqual(
      expect.objectContaining({
        EvaluationPeriods: 24,
        DatapointsToAlarm: 24,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        TreatMissingData: 'breaching',
        Metrics: expect.arrayContaining([
          expect.objectContaining({ Expression: 'FILL(invocations, 0) - FILL(errors, 0)' }),
        ]),
      }),
    );
  });

  it('THEN there are 28 with Slack on (7 queues, 5 × errors and throttles, expiry, age, backlog, Slack queue age, 4 batch failures, parked, on-failure, iterator age), 23 without', () => {
    expect(alarms).toHaveLength(28);
    expect(resourcesOf(bare.template, 'AWS::CloudWatch::Alarm')).toHaveLength(23);
  });

  it('THEN every alarm notifies the alarm topic, which mails the operators', () => {
    const topic = ref(expect.stringMatching(/AlarmTopic/));
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([topic]);
      expect(alarm.OKActions).toEqual([topic]);
    }
    full.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('WHEN a cluster role is granted the allowlist THEN it may read exactly the three objects', () => {
    const stack = new RegistryWatcherStack(testApp(), 'Reader');
    const reader = new iam.Role(stack, 'ClusterReader', {
      assumedBy: new iam.AccountRootPrincipal(),
    });
    stack.watcher.grantReadAllowlist(reader);
    const statements = statementsOf(Template.fromStack(stack), 'ClusterReader');
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toBe('s3:GetObject');
    expect(JSON.stringify(statements[0]?.Resource)).toMatch(
      /"\/allowlist\.json".*"\/allowlist\.json\.sigstore\.json".*"\/allowlist\.pub"/,
    );
  });

  it('THEN the stack outputs what consumers and operators need', () => {
    const outputs = full.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'AllowlistUrl',
        'AllowlistPublicKeyUrl',
        'AllowlistKeyArn',
        'AllowlistPublicKeyCommand',
        'AttestationKeyArn',
        'AttestationPublicKeyCommand',
        'ReplayRoleArn',
        'FailedRecordsBucketName',
        'RebuildQueueUrl',
        'VerdictTopicArn',
        'TableName',
      ]),
    );
    expect(JSON.stringify(outputs.AllowlistPublicKeyCommand?.Value)).toMatch(
      /aws kms get-public-key --region .*--key-id ",\{"Fn::GetAtt":\["WatcherAllowlistSigningKey[0-9A-F]+","Arn"\]\}," --query PublicKey --output text \| base64 -d \| openssl pkey -pubin -inform DER -out allowlist.pub"/,
    );
    expect(JSON.stringify(outputs.AllowlistUrl?.Value)).toMatch(
      /"s3:\/\/",\{"Ref":"WatcherAllowlist[0-9A-F]+"\},"\/allowlist.json"/,
    );
    expect(JSON.stringify(outputs.AllowlistPublicKeyUrl?.Value)).toContain('/allowlist.pub');
    expect(outputs.PolicyHash?.Value).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
