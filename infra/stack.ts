import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { allowlistKeys } from '../shared/adapters/aws/s3-allowlist-store';
import type { RegistryWatcherProps } from './props';
import { RegistryWatcher } from './registry-watcher';

export interface RegistryWatcherStackProps extends StackProps {
  readonly watcher?: RegistryWatcherProps;
  /** An existing signing key by ARN (instead of `watcher.signingKey`). */
  readonly signingKeyArn?: string;
  /** An existing bucket for S3 access logs by name (instead of `watcher.accessLogsBucket`). */
  readonly accessLogsBucketName?: string;
}

/** The deployable unit: one RegistryWatcher and the outputs consumers need. */
export class RegistryWatcherStack extends Stack {
  readonly watcher: RegistryWatcher;

  constructor(scope: Construct, id: string, props: RegistryWatcherStackProps = {}) {
    super(scope, id, props);
    this.watcher = new RegistryWatcher(this, 'Watcher', {
      ...props.watcher,
      ...(props.signingKeyArn && {
        signingKey: kms.Key.fromKeyArn(this, 'SigningKey', props.signingKeyArn),
      }),
      ...(props.accessLogsBucketName && {
        accessLogsBucket: s3.Bucket.fromBucketName(this, 'AccessLogs', props.accessLogsBucketName),
      }),
    });
    const bucket = this.watcher.bucket.bucketName;
    const keys = allowlistKeys();
    const outputs: Record<string, [string, string]> = {
      AllowlistUrl: [
        `s3://${bucket}/${keys.document}`,
        'The signed allowlist admission controllers read',
      ],
      AllowlistBundleUrl: [
        `s3://${bucket}/${keys.bundle}`,
        'Its sigstore bundle (signature over the exact bytes)',
      ],
      PublicKeyUrl: [
        `s3://${bucket}/${keys.publicKey}`,
        'PEM public key that verifies the allowlist and verdict attestations',
      ],
      SigningKeyArn: [
        this.watcher.signingKey.keyArn,
        'KMS key that signs (aws kms get-public-key gives the same key)',
      ],
      VerdictTopicArn: [
        this.watcher.verdictTopic.topicArn,
        'SNS topic of verdict events (docs/events.md)',
      ],
      AlarmTopicArn: [this.watcher.alarmTopic.topicArn, 'SNS topic the alarms notify'],
      TableName: [this.watcher.table.tableName, 'DynamoDB verdict table'],
      EvaluateQueueUrl: [
        this.watcher.evaluateQueue.queueUrl,
        'Send evaluate requests here (registry-watcher rescan)',
      ],
      PolicyHash: [this.watcher.policy.hash, 'sha256 of the deployed policy'],
    };
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { value, description });
    }
  }
}
