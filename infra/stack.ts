import { Arn, ArnFormat, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { allowlistKeys } from '../shared/adapters/aws/s3-allowlist-store';
import type { RegistryWatcherProps } from './props';
import { RegistryWatcher } from './registry-watcher';

export interface RegistryWatcherStackProps extends StackProps {
  /** Props of the stack's one RegistryWatcher. @default every default */
  readonly watcher?: RegistryWatcherProps;
  /** An existing allowlist signing key by ARN (instead of `watcher.allowlistKey`). */
  readonly allowlistKeyArn?: string;
  /** An existing attestation signing key by ARN (instead of `watcher.attestationKey`). */
  readonly attestationKeyArn?: string;
  /** The key administrator by ARN (instead of `watcher.keyAdministrator`). */
  readonly keyAdministratorArn?: string;
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
      ...(props.allowlistKeyArn && {
        allowlistKey: kms.Key.fromKeyArn(this, 'AllowlistKey', props.allowlistKeyArn),
      }),
      ...(props.attestationKeyArn && {
        attestationKey: kms.Key.fromKeyArn(this, 'AttestationKey', props.attestationKeyArn),
      }),
      ...(props.keyAdministratorArn && {
        keyAdministrator: new iam.ArnPrincipal(props.keyAdministratorArn),
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
      AllowlistPublicKeyUrl: [
        `s3://${bucket}/${keys.publicKey}`,
        'Copy of the allowlist public key (PEM) the allowlist function publishes; pin the one KMS gives (AllowlistPublicKeyCommand)',
      ],
      AllowlistKeyArn: [this.watcher.allowlistKey.keyArn, 'KMS key that signs the allowlist'],
      AllowlistPublicKeyCommand: [
        publicKeyCommand(this.watcher.allowlistKey.keyArn, 'allowlist.pub'),
        'Writes the allowlist public key (PEM) from KMS: the webhook pins it (cluster/deploy allowlist.pub)',
      ],
      AttestationKeyArn: [
        this.watcher.attestationKey.keyArn,
        'KMS key that signs the verdict attestations',
      ],
      AttestationPublicKeyCommand: [
        publicKeyCommand(this.watcher.attestationKey.keyArn, 'attestation.pub'),
        'Writes the attestation public key (PEM) from KMS: Kyverno, policy-controller and cosign pin it',
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
      ReplayRoleArn: [
        this.watcher.replayRole.roleArn,
        'Role to assume for registry-watcher replay (the verdict topic admits only the stack publishers)',
      ],
      FailedRecordsBucketName: [
        this.watcher.failedRecords.bucketName,
        'Stream records changes kept (registry-watcher replay --bucket)',
      ],
      RebuildQueueUrl: [
        this.watcher.rebuildQueue.queueUrl,
        'Allowlist rebuild queue (registry-watcher replay --rebuild-queue-url)',
      ],
      PolicyHash: [this.watcher.policy.hash, 'sha256 of the deployed policy'],
    };
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { value, description });
    }
  }
}

/**
 * The shell command that writes a key's public key as PEM. A CloudFormation output cannot
 * hold it: KMS creates the key pair at deploy time, after the template is fixed.
 */
export function publicKeyCommand(keyArn: string, file: string): string {
  const { region } = Arn.split(keyArn, ArnFormat.SLASH_RESOURCE_NAME);
  return `aws kms get-public-key --region ${region} --key-id ${keyArn} --query PublicKey --output text | base64 -d | openssl pkey -pubin -inform DER -out ${file}`;
}
