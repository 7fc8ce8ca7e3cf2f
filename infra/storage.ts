import {
  ArnFormat,
  Duration,
  FeatureFlags,
  Names,
  type RemovalPolicy,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import type { Construct } from 'constructs';
import { VERDICT_TABLE as T } from '../shared/adapters/aws/verdict-table';

export interface VerdictTableProps {
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
}

/**
 * The one table of DESIGN §5, built from the same constants as the store adapter and the
 * local table (shared/adapters/aws/verdict-table.ts), so the three cannot drift.
 */
export function verdictTable(scope: Construct, id: string, props: VerdictTableProps) {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: { name: T.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: T.sortKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: T.ttlAttribute,
    stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    deletionProtection: props.deletionProtection,
    removalPolicy: props.removalPolicy,
  });
  table.addGlobalSecondaryIndex({
    indexName: T.admittedIndex,
    partitionKey: { name: T.admittedPartitionKey, type: dynamodb.AttributeType.NUMBER },
    sortKey: { name: T.admittedSortKey, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.INCLUDE,
    nonKeyAttributes: [...T.admittedProjection],
  });
  table.addGlobalSecondaryIndex({
    indexName: T.refusedIndex,
    partitionKey: { name: T.refusedPartitionKey, type: dynamodb.AttributeType.NUMBER },
    sortKey: { name: T.refusedSortKey, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.INCLUDE,
    nonKeyAttributes: [...T.refusedProjection],
  });
  table.addGlobalSecondaryIndex({
    indexName: T.fleetIndex,
    partitionKey: { name: T.fleetPartitionKey, type: dynamodb.AttributeType.NUMBER },
    sortKey: { name: T.fleetSortKey, type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.INCLUDE,
    nonKeyAttributes: [...T.fleetProjection],
  });
  return table;
}

export interface AllowlistBucketProps {
  readonly removalPolicy: RemovalPolicy;
  readonly accessLogs?: s3.IBucket;
}

/**
 * The allowlist bucket: versioned (old versions kept 30 days for forensics; consumers
 * reject rollbacks by `sequence` anyway), TLS only, never public, SSE-S3. Its integrity
 * comes from the signature, not from a key, so readers need no KMS grant.
 */
export function allowlistBucket(
  scope: Construct,
  id: string,
  props: AllowlistBucketProps,
): { bucket: s3.Bucket; accessLogs: s3.IBucket } {
  const accessLogs = props.accessLogs ?? accessLogsBucket(scope, `${id}AccessLogs`, props);
  const bucket = new s3.Bucket(scope, id, {
    versioned: true,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: 'allowlist/',
    lifecycleRules: [
      {
        noncurrentVersionExpiration: Duration.days(30),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      },
    ],
    removalPolicy: props.removalPolicy,
  });
  if (props.accessLogs) {
    Validations.of(bucket).acknowledge({
      id: 'Annotation::@aws-cdk/aws-s3:accessLogsPolicyNotAdded',
      reason:
        "An existing access-logs bucket is its owner's: its bucket policy must let logging.s3.amazonaws.com put objects under allowlist/ (docs/deploy.md).",
    });
  }
  return { bucket, accessLogs };
}

/**
 * Stream records the changes function could not announce, kept whole for
 * `registry-watcher replay`: those it parked itself (`parked/`) and Lambda's S3 on-failure
 * objects (`aws/lambda/`). SSE-S3 like the allowlist bucket (Lambda's on-failure writer then
 * needs no key grant); 90 days, then gone.
 */
export function failedRecordsBucket(
  scope: Construct,
  id: string,
  props: { removalPolicy: RemovalPolicy; accessLogs: s3.IBucket; ownLogs: boolean },
): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: props.accessLogs,
    serverAccessLogsPrefix: 'failed-records/',
    lifecycleRules: [{ expiration: Duration.days(90) }],
    removalPolicy: props.removalPolicy,
  });
  if (!props.ownLogs) {
    Validations.of(bucket).acknowledge({
      id: 'Annotation::@aws-cdk/aws-s3:accessLogsPolicyNotAdded',
      reason:
        "An existing access-logs bucket is its owner's: its bucket policy must let logging.s3.amazonaws.com put objects under failed-records/ (docs/deploy.md).",
    });
  }
  return bucket;
}

function accessLogsBucket(scope: Construct, id: string, props: { removalPolicy: RemovalPolicy }) {
  const bucket = new s3.Bucket(scope, id, {
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    // S3 log delivery writes only to SSE-S3 buckets.
    encryption: s3.BucketEncryption.S3_MANAGED,
    // Log delivery by bucket policy (ACLs off) where the app enables it, else the legacy ACL.
    objectOwnership: FeatureFlags.of(scope).isEnabled(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY)
      ? s3.ObjectOwnership.BUCKET_OWNER_ENFORCED
      : s3.ObjectOwnership.OBJECT_WRITER,
    lifecycleRules: [{ expiration: Duration.days(90) }],
    removalPolicy: props.removalPolicy,
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason:
      'This bucket receives the server access logs of the allowlist bucket; logging it into itself would loop and another log bucket would only move the question.',
  });
  return bucket;
}

/** Every queue: SSE-SQS (no key policy to keep in step with EventBridge, SNS and Lambda), TLS only. */
export function secureQueue(scope: Construct, id: string, props: sqs.QueueProps = {}) {
  return new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    ...props,
  });
}

/**
 * A queue that is itself a dead-letter queue of something that is not a queue (EventBridge
 * and Scheduler targets, a stream's on-failure destination, Lambda async invocations):
 * 14 days of retention, and the SQS3 acknowledgement with what it catches.
 */
export function deadLetterQueue(scope: Construct, id: string, catches: string, fifo = false) {
  const queue = secureQueue(scope, id, {
    retentionPeriod: Duration.days(14),
    ...(fifo && { fifo: true }),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is a dead-letter queue (${catches}); a dead-letter queue of a dead-letter queue would only hide messages. Its depth is alarmed.`,
  });
  return queue;
}

/**
 * What sits in a dead-letter queue is replayed into its source (docs/hops.md), so nobody may
 * put anything there but what feeds it: this denies sqs:SendMessage to every IAM principal
 * but `roles` (those that send it their failures: the Scheduler role, a function's role for
 * its async on-failure destination), whatever their IAM policies say. Requests without a
 * principal ARN are left to the Allow statements, which name only our services by source
 * ARN (EventBridge for our rules, SNS for our topic), and to SQS's own dead-lettering, which
 * no queue policy grants.
 */
export function onlyItsSourcesSend(queue: sqs.Queue, roles: iam.IRole[] = []): void {
  queue.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'OnlyItsSourcesSend',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['sqs:SendMessage'],
      resources: [queue.queueArn],
      conditions: {
        Null: { 'aws:PrincipalArn': 'false' },
        ...(roles.length > 0 && {
          ArnNotEquals: { 'aws:PrincipalArn': roles.map((r) => r.roleArn) },
        }),
      },
    }),
  );
}

/**
 * No SQS queue may name `queue` as its dead-letter target (RedriveAllowPolicy `denyAll`): for
 * a queue that only services fill (EventBridge and Scheduler target DLQs, Lambda on-failure
 * destinations, which send rather than redrive), so a queue of someone else's cannot
 * dead-letter into it.
 */
export function noQueueDeadLettersInto(queue: sqs.Queue): void {
  (queue.node.defaultChild as sqs.CfnQueue).redriveAllowPolicy = { redrivePermission: 'denyAll' };
}

/**
 * A source queue and its dead-letter queue where only that source may dead-letter into it
 * (RedriveAllowPolicy `byQueue`). The DLQ must name the source's ARN while the source's
 * RedrivePolicy names the DLQ's: CloudFormation would see a cycle, so the source gets a
 * name fixed at synth (unique per stack and path) and the DLQ names it by the ARN built from
 * it. Only for new queues: naming an existing queue replaces it, losing what it holds.
 */
export function queueWithOwnDeadLetterQueue(
  scope: Construct,
  id: string,
  props: Omit<sqs.QueueProps, 'deadLetterQueue' | 'queueName'> & { maxReceiveCount: number },
): { queue: sqs.Queue; deadLetterQueue: sqs.Queue } {
  const { maxReceiveCount, ...queueProps } = props;
  const stack = Stack.of(scope);
  const queueName = `${Names.uniqueResourceName(scope, { maxLength: 80 - id.length - 1 })}-${id}`;
  const sourceArn = stack.formatArn({
    service: 'sqs',
    resource: queueName,
    arnFormat: ArnFormat.NO_RESOURCE_NAME,
  });
  const deadLetterQueue = secureQueue(scope, 'Dlq', {
    retentionPeriod: Duration.days(14),
    redriveAllowPolicy: {
      redrivePermission: sqs.RedrivePermission.BY_QUEUE,
      sourceQueues: [sqs.Queue.fromQueueArn(scope, `${id}ByName`, sourceArn)],
    },
  });
  const queue = secureQueue(scope, id, {
    ...queueProps,
    queueName,
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount },
  });
  return { queue, deadLetterQueue };
}
