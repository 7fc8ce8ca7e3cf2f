import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** What the account may do with the signing key: manage it and read its public key, never sign. */
const KEY_ADMINISTRATION = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:Verify',
];

export interface SigningKeyProps {
  /** An existing ECC_NIST_P256 SIGN_VERIFY key. @default a new key */
  readonly existing?: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The asymmetric key that signs the allowlist and verdict attestations (DESIGN §6, §7). A
 * new key's policy delegates administration to the account but names each signer role
 * for `kms:Sign`: no IAM policy in the account can grant signing, only this key policy.
 */
export class SigningKey extends Construct {
  readonly key: kms.IKey;
  private readonly created: boolean;
  private signers = 0;

  constructor(scope: Construct, id: string, props: SigningKeyProps) {
    super(scope, id);
    this.created = props.existing === undefined;
    this.key =
      props.existing ??
      new kms.Key(this, 'Key', {
        description: 'registry-watcher: signs the allowlist and verdict attestations',
        keySpec: kms.KeySpec.ECC_NIST_P256,
        keyUsage: kms.KeyUsage.SIGN_VERIFY,
        removalPolicy: props.removalPolicy,
        pendingWindow: Duration.days(30),
        policy: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'AccountAdministersAndVerifiesButDoesNotSign',
              principals: [new iam.AccountRootPrincipal()],
              actions: KEY_ADMINISTRATION,
              resources: ['*'],
            }),
          ],
        }),
      });
  }

  /** Lets `role` sign (ECDSA_SHA_256 over a digest) and read the public key. */
  grantSign(role: iam.IRole): void {
    const sign = {
      actions: ['kms:Sign'],
      conditions: {
        StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' },
      },
    };
    if (this.created) {
      // In a key policy "*" is the key itself.
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Sign${this.signers++}`,
          principals: [new iam.ArnPrincipal(role.roleArn)],
          resources: ['*'],
          ...sign,
        }),
      );
    }
    role.addToPrincipalPolicy(new iam.PolicyStatement({ resources: [this.key.keyArn], ...sign }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:GetPublicKey'], resources: [this.key.keyArn] }),
    );
  }
}

export interface DataKeyProps {
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Symmetric key for the SNS topics (verdict events, alarms): rotated yearly; CloudWatch
 * may use it to publish alarms to the encrypted alarm topic, from this account only.
 */
export function dataKey(scope: Construct, id: string, props: DataKeyProps): kms.Key {
  const key = new kms.Key(scope, id, {
    description: 'registry-watcher: encrypts the verdict and alarm topics',
    enableKeyRotation: true,
    removalPolicy: props.removalPolicy,
    pendingWindow: Duration.days(30),
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublishToEncryptedTopics',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
  );
  return key;
}
