import { Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { MARKER_PREFIX } from '../shared/adapters/aws/delivery-markers';
import { ON_FAILURE_PREFIX, PARKED_PREFIX } from '../shared/adapters/aws/s3-record-parking';

export interface ReplayRoleProps {
  readonly table: dynamodb.ITable;
  readonly failedRecords: s3.Bucket;
  readonly verdictTopic: sns.ITopic;
  readonly topicKey: kms.IKey;
  readonly rebuildQueue: sqs.IQueue;
  /** With Slack: the DLQ redrive back to the notify queue runs as this role. */
  readonly notifyQueues?: { queue: sqs.IQueue; dlq: sqs.IQueue };
}

/**
 * The role `registry-watcher replay` runs as (docs/hops.md): the verdict topic admits only
 * the stack's publishers, so an operator republishes kept stream records through this role,
 * which may do what `changes` does and read what it kept, nothing more. Who may assume it
 * is the account's IAM decision (sts:AssumeRole on this role).
 */
export function replayRole(scope: Construct, id: string, props: ReplayRoleProps): iam.Role {
  const role = new iam.Role(scope, id, {
    assumedBy: new iam.AccountRootPrincipal(),
    description:
      'registry-watcher replay: republishes the stream records changes kept, redrives the notify DLQ',
  });
  const allow = (actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions, resources, ...(conditions && { conditions }) }),
    );
  const prefixes = [PARKED_PREFIX, ON_FAILURE_PREFIX];
  allow(['s3:ListBucket'], [props.failedRecords.bucketArn]);
  allow(
    ['s3:GetObject'],
    prefixes.map((p) => props.failedRecords.arnForObjects(`${p}*`)),
  );
  allow(
    ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    [props.table.tableArn],
    { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${MARKER_PREFIX}*`] } },
  );
  allow(['sns:Publish'], [props.verdictTopic.topicArn]);
  allow(['kms:GenerateDataKey', 'kms:Decrypt'], [props.topicKey.keyArn]);
  allow(['sqs:SendMessage'], [props.rebuildQueue.queueArn]);
  if (props.notifyQueues) {
    // SQS moves redriven messages with the caller's permissions (StartMessageMoveTask).
    allow(['sqs:SendMessage', 'sqs:GetQueueAttributes'], [props.notifyQueues.queue.queueArn]);
    allow(
      [
        'sqs:StartMessageMoveTask',
        'sqs:ListMessageMoveTasks',
        'sqs:CancelMessageMoveTask',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
      ],
      [props.notifyQueues.dlq.queueArn],
    );
  }
  const bucket = Stack.of(scope).getLogicalId(
    props.failedRecords.node.defaultChild as s3.CfnBucket,
  );
  for (const prefix of prefixes) {
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucket}.Arn>/${prefix}*]`,
      reason: `s3:GetObject only, under ${prefix} of the failed-records bucket: replay reads every record changes kept there, whatever its name.`,
    });
  }
  return role;
}
