import { DefaultStackSynthesizer, Duration, Fn, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { ConfigError } from '../shared/domain/errors';

/**
 * What the key administrator may do: manage the key and its policy, never sign and never
 * grant (a grant is how a principal outside the policy would get Sign). It covers every
 * permission CloudFormation's AWS::KMS::Key handlers list (create, read, update, delete).
 */
export const KEY_ADMINISTRATION = [
  'kms:CancelKeyDeletion',
  'kms:CreateAlias',
  'kms:DeleteAlias',
  'kms:DescribeKey',
  'kms:DisableKey',
  'kms:DisableKeyRotation',
  'kms:EnableKey',
  'kms:EnableKeyRotation',
  'kms:GetKeyPolicy',
  'kms:GetKeyRotationStatus',
  'kms:GetPublicKey',
  'kms:ListGrants',
  'kms:ListKeyPolicies',
  'kms:ListResourceTags',
  'kms:PutKeyPolicy',
  'kms:RevokeGrant',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:UpdateAlias',
  'kms:UpdateKeyDescription',
];

/** What any identity of the account may do when its IAM policy allows it: read and verify. */
export const ACCOUNT_READS = ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Verify'];

/** The only signature a signer may ask for: ECDSA P-256 over a digest it computed. */
const SIGN_CONDITIONS = {
  StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' },
};

export interface SigningKeyProps {
  /** What the key signs, for its description. */
  readonly signs: string;
  /** An existing ECC_NIST_P256 SIGN_VERIFY key. @default a new key */
  readonly existing?: kms.IKey;
  /** The one principal the key policy lets administer the key (it can never sign). */
  readonly administrator: iam.IPrincipal;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * An asymmetric key with exactly one signer (DESIGN §6, §7: two trust roots, never shared).
 * A new key's policy names every power: the administrator manages the key, the account
 * reads the public key and verifies, the signer role signs, and two denials hold whatever
 * IAM says: nobody else may sign, and no grant may carry Sign.
 */
export class SigningKey extends Construct {
  readonly key: kms.IKey;
  private readonly created: boolean;
  private signer?: iam.IRole;

  constructor(scope: Construct, id: string, props: SigningKeyProps) {
    super(scope, id);
    this.created = props.existing === undefined;
    this.key =
      props.existing ??
      new kms.Key(this, 'Key', {
        description: `registry-watcher: signs ${props.signs}`,
        keySpec: kms.KeySpec.ECC_NIST_P256,
        keyUsage: kms.KeyUsage.SIGN_VERIFY,
        removalPolicy: props.removalPolicy,
        pendingWindow: Duration.days(30),
        policy: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'AdministratorManagesButNeverSigns',
              principals: [props.administrator],
              actions: KEY_ADMINISTRATION,
              resources: ['*'],
            }),
            new iam.PolicyStatement({
              sid: 'AccountReadsThePublicKeyAndVerifies',
              principals: [new iam.AccountRootPrincipal()],
              actions: ACCOUNT_READS,
              resources: ['*'],
            }),
            new iam.PolicyStatement({
              sid: 'NoGrantCarriesSign',
              effect: iam.Effect.DENY,
              principals: [new iam.AnyPrincipal()],
              actions: ['kms:CreateGrant'],
              resources: ['*'],
              conditions: { 'ForAnyValue:StringEquals': { 'kms:GrantOperations': ['Sign'] } },
            }),
          ],
        }),
      });
  }

  /** Makes `role` the key's one signer (ECDSA_SHA_256 over a digest) and lets it read the public key. */
  grantSign(role: iam.IRole): void {
    if (this.signer) {
      throw new ConfigError(`${this.node.path} has a signer already: a key has one signer`);
    }
    this.signer = role;
    if (this.created) {
      // In a key policy "*" is the key itself.
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'TheSignerSigns',
          principals: [new iam.ArnPrincipal(role.roleArn)],
          actions: ['kms:Sign'],
          resources: ['*'],
          conditions: SIGN_CONDITIONS,
        }),
      );
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'NobodyElseSigns',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:Sign'],
          resources: ['*'],
          conditions: { ArnNotEquals: { 'aws:PrincipalArn': role.roleArn } },
        }),
      );
    }
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Sign'],
        resources: [this.key.keyArn],
        conditions: SIGN_CONDITIONS,
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:GetPublicKey'], resources: [this.key.keyArn] }),
    );
  }
}

/**
 * The principal that administers the signing keys: the one given, else the CloudFormation
 * execution role of the CDK bootstrap (the principal that creates and updates the keys;
 * KMS refuses a key policy that would lock its creator out).
 */
export function keyAdministrator(scope: Construct, given?: iam.IPrincipal): iam.IPrincipal {
  if (given) return given;
  const synthesizer = Stack.of(scope).synthesizer;
  if (synthesizer instanceof DefaultStackSynthesizer) {
    // The synthesizer's ARN carries ${AWS::AccountId}-style placeholders, resolved by Fn::Sub.
    return new iam.ArnPrincipal(Fn.sub(synthesizer.cloudFormationExecutionRoleArn));
  }
  throw new ConfigError(
    'keyAdministrator: this stack is not deployed through the CDK bootstrap roles, so name the principal that deploys it and administers the signing keys',
  );
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
