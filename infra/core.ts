import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { MARKER_PREFIX } from '../shared/adapters/aws/delivery-markers';
import type { Policy } from '../shared/domain/policy';
import type { WatcherAlarms } from './alarms';
import type { SigningKey } from './keys';
import type { ResolvedProps, WatchedRepository } from './props';
import type { AnyWatcherFunction } from './watcher-function';

/** AWS's advice for SQS event sources: visibility timeout at least 6 × the function timeout. */
export const VISIBILITY_FACTOR = 6;
/**
 * Where the policy is bundled beside each handler that reads it: the canonical JSON rendered
 * from the policy file at synth, so no function bundles a YAML parser (docs/deploy.md).
 */
export const POLICY_FILE_NAME = 'policy.json';

/** What the parts of the watcher share: settings, storage, keys, alarms, schedules. */
export interface WatcherCore {
  readonly config: ResolvedProps;
  readonly policy: Policy;
  /** The policy as the functions read it (POLICY_FILE_NAME): validated, canonical JSON. */
  readonly policyJson: string;
  readonly table: dynamodb.Table;
  /** The allowlist's trust root: its one signer is the allowlist function. */
  readonly allowlistKey: SigningKey;
  /** The attestations' trust root: its one signer is the attestor (when attestations are on). */
  readonly attestationKey: SigningKey;
  /** Dead-letter queue of EventBridge and Scheduler targets. */
  readonly deliveryDlq: sqs.Queue;
  readonly alarms: WatcherAlarms;
  /** Role EventBridge Scheduler assumes to invoke the scheduled functions. */
  readonly schedulerRole: iam.Role;
  /** Registers a function: alarms on its errors and throttles. */
  watch(fn: AnyWatcherFunction, name: string): void;
}

export function visibilityFor(fn: AnyWatcherFunction): Duration {
  return Duration.seconds((fn.function.timeout?.toSeconds() ?? 3) * VISIBILITY_FACTOR);
}

/** ECR repository ARNs of the watched repositories, in this account and region. */
export function repositoryArns(scope: Construct, watched: readonly WatchedRepository[]): string[] {
  const stack = Stack.of(scope);
  const base = `arn:${stack.partition}:ecr:${stack.region}:${stack.account}:repository/`;
  if (watched.length === 0) return [`${base}*`];
  return watched.map((w) => ('name' in w ? `${base}${w.name}` : `${base}${w.prefix}*`));
}

/** Acknowledges, on `role`, the wildcards `repositoryArns` produced: each with its reason. */
export function acknowledgeRepositoryWildcards(
  role: iam.IRole,
  watched: readonly WatchedRepository[],
): void {
  const prefixes =
    watched.length === 0 ? [''] : watched.flatMap((w) => ('prefix' in w ? [w.prefix] : []));
  for (const prefix of prefixes) {
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/${prefix}*]`,
      reason:
        prefix === ''
          ? 'Every repository of this account and region is watched (repositories is empty): ECR access applies to repository/* of this account and region only.'
          : `The watched prefix "${prefix}*" is the scope the operator chose: repositories created under it are watched without a redeploy. Account and region are fixed.`,
    });
  }
}

/**
 * Actions without resource-level permissions get a policy of their own, so the "*" it
 * needs is acknowledged with its reason and cannot hide another statement's wildcard.
 */
export function anyResourcePolicy(
  scope: Construct,
  id: string,
  role: iam.IRole,
  actions: string[],
  reason: string,
): iam.Policy {
  const policy = new iam.Policy(scope, id, {
    statements: [new iam.PolicyStatement({ actions, resources: ['*'] })],
  });
  role.attachInlinePolicy(policy);
  Validations.of(policy).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason });
  return policy;
}

/** Idempotency markers (DeliveryMarkers): only items whose partition key starts with EVENT#. */
export function allowMarkers(fn: AnyWatcherFunction, table: dynamodb.ITable): void {
  fn.allow(
    ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    [table.tableArn],
    { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${MARKER_PREFIX}*`] } },
  );
}

/** The role Scheduler assumes, usable only by schedules of this account. */
export function schedulerRole(scope: Construct, id: string): iam.Role {
  return new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
    description: 'registry-watcher schedules: invoke the scheduled functions',
  });
}
