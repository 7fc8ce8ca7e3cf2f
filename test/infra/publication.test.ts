import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { NOTIFY_TIMEOUT } from '../../shared/publishing-config';
import {
  arnOf,
  functionId,
  propsOf,
  queueId,
  ref,
  resourcesOf,
  SLACK_SECRET as SLACK,
  statementsOf,
  synthFull,
  synthWatcher,
} from './support';

// The Publication construct (infra/publication.ts): changes, allowlist, notify, the topics.
type Json = Record<string, unknown>;

// GIVEN the watcher with every optional part on (Slack, e-mail, watched repositories).
const full = synthFull();
// GIVEN the watcher with its defaults only.
const bare = synthWatcher();

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
        POLICY_FILE: '/var/task/policy.json',
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
