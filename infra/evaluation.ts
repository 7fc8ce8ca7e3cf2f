import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { VERDICT_TABLE } from '../shared/adapters/aws/verdict-table';
import { signatureEnvironment } from '../shared/adapters/sigstore/environment';
import { environment as evaluateEnvironment } from '../shared/config';
import type { Policy, SignatureTrust } from '../shared/domain/policy';
import {
  acknowledgeRepositoryWildcards,
  anyResourcePolicy,
  POLICY_FILE_NAME,
  repositoryArns,
  visibilityFor,
  type WatcherCore,
} from './core';
import { eventPatterns } from './event-patterns';
import { durationSetting } from './props';
import { onlyItsSourcesSend, secureQueue } from './storage';
import { type AnyWatcherFunction, TASK_ROOT, WatcherFunction } from './watcher-function';

/** Evaluations one evaluate invocation runs at once (EVALUATE_CONCURRENCY). */
export const EVALUATIONS_PER_INVOCATION = 8;
const TRUSTED_ROOT_FILE = 'trusted_root.json';

export interface EvaluationProps {
  readonly core: WatcherCore;
  /** The attestor's queue when attestations are on: evaluate asks there, never signs or pushes. */
  readonly attestationQueue?: sqs.IQueue;
  /** trusted_root.json for keyless signatures: a local file (bundled) or `s3://bucket/key`. */
  readonly trustedRoot?: string;
}

/**
 * The evaluate path of DESIGN §3: four EventBridge rules (and the rescan planner) feed one
 * encrypted queue; the evaluate function consumes it in batches with partial failures, its
 * concurrency capped to stay inside ECR's API quotas.
 */
export class Evaluation extends Construct {
  readonly function: AnyWatcherFunction;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: EvaluationProps) {
    super(scope, id);
    const { core } = props;
    const { config } = core;
    const trustedRoot = props.trustedRoot;
    const bundledRoot = trustedRoot !== undefined && !trustedRoot.startsWith('s3://');

    const fn = new WatcherFunction(this, 'Evaluate', {
      name: 'evaluate',
      description: 'registry-watcher: judges image digests against the policy',
      environmentSchema: evaluateEnvironment.extend(signatureEnvironment.shape),
      environment: {
        TABLE_NAME: core.table.tableName,
        POLICY_FILE: `${TASK_ROOT}/${POLICY_FILE_NAME}`,
        SCANNING_MODE: config.scanningMode,
        EVALUATE_CONCURRENCY: String(EVALUATIONS_PER_INVOCATION),
        ATTESTATIONS_ENABLED: String(props.attestationQueue !== undefined),
        ...(props.attestationQueue && { ATTESTATION_QUEUE_URL: props.attestationQueue.queueUrl }),
        ...(trustedRoot && {
          TRUSTED_ROOT: bundledRoot ? `${TASK_ROOT}/${TRUSTED_ROOT_FILE}` : trustedRoot,
        }),
        ...(config.knownExploitedCatalog && {
          KEV_SOURCE: config.knownExploitedCatalog,
          KEV_REFRESH: durationSetting(config.knownExploitedRefresh),
        }),
      },
      files: {
        [POLICY_FILE_NAME]: { text: core.policyJson },
        ...(bundledRoot && { [TRUSTED_ROOT_FILE]: trustedRoot }),
      },
      timeout: Duration.seconds(60),
      memorySize: 1024,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });
    this.function = fn;

    this.deadLetterQueue = secureQueue(this, 'Dlq', { retentionPeriod: Duration.days(14) });
    onlyItsSourcesSend(this.deadLetterQueue);
    this.queue = secureQueue(this, 'Queue', {
      visibilityTimeout: visibilityFor(fn),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
    fn.function.addEventSource(
      new sources.SqsEventSource(this.queue, {
        batchSize: 10,
        // A push, its scan and Inspector's events often arrive together: one batch coalesces them.
        maxBatchingWindow: Duration.seconds(5),
        reportBatchItemFailures: true,
        maxConcurrency: config.evaluateMaxConcurrency,
      }),
    );

    const repositories = repositoryArns(this, config.repositories);
    const registry = usesSignatures(core.policy);
    fn.allow(
      [
        'ecr:DescribeImages',
        'ecr:DescribeImageScanFindings',
        'ecr:BatchGetImage',
        // Signatures are read through the registry API (OCI distribution).
        ...(registry
          ? ['ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability', 'ecr:ListImages']
          : []),
      ],
      repositories,
    );
    if (props.attestationQueue) {
      // Its only part in attestations: one request per verdict due (infra/attestation.ts).
      fn.allow(['sqs:SendMessage'], [props.attestationQueue.queueArn]);
    }
    // Only image items (CURRENT, history, facts): never markers, the sequence or the checkpoint.
    // BatchGetItem: the nightly requests of a batch read their items at once (docs/rescans.md).
    fn.allow(
      ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      [core.table.tableArn],
      {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${VERDICT_TABLE.imagePrefix}*`] },
      },
    );
    acknowledgeRepositoryWildcards(fn.role, config.repositories);
    if (registry) {
      anyResourcePolicy(
        this,
        'RegistryLogin',
        fn.role,
        ['ecr:GetAuthorizationToken'],
        'ecr:GetAuthorizationToken (the registry login for reading signatures) supports no resource-level permissions; what the token may do is decided per repository by the statements on the watched repositories.',
      );
    }
    if (config.scanningMode === 'enhanced') {
      anyResourcePolicy(
        this,
        'InspectorFindingsRead',
        fn.role,
        ['inspector2:ListFindings', 'inspector2:ListCoverage'],
        'Enhanced scanning: DescribeImageScanFindings reads the findings from Amazon Inspector with the caller\'s permissions, and inspector2:ListFindings/ListCoverage support no resource-level permissions (ECR user guide, "IAM permissions required for enhanced scanning"). Both are read-only.',
      );
    }
    for (const { resources, conditions } of policyKeyGrants(core.policy)) {
      fn.allow(['kms:GetPublicKey'], resources, conditions);
      if (!conditions) continue;
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${resources[0]}]`,
        reason:
          'The policy names signature keys by KMS alias ARN; IAM cannot name a key by alias, so kms:GetPublicKey (read-only) on the keys of that account and region is limited to those aliases by the kms:RequestAlias condition.',
      });
    }
    if (trustedRoot?.startsWith('s3://')) {
      fn.allow(['s3:GetObject'], [`arn:${Stack.of(this).partition}:s3:::${trustedRoot.slice(5)}`]);
    }
    if (config.knownExploitedCatalog) {
      // That one object: the bucket may hold other things evaluate has no business reading.
      fn.allow(
        ['s3:GetObject'],
        [`arn:${Stack.of(this).partition}:s3:::${config.knownExploitedCatalog.slice(5)}`],
      );
    }
    core.watch(fn, 'evaluate');
    core.alarms.batchItemFailures('EvaluateBatchItemFailures', 'evaluate', 'evaluate requests');
    core.alarms.deadLetterQueue('EvaluateDlqNotEmpty', this.deadLetterQueue, 'An evaluate request');
    // Hours, not minutes: a large nightly rescan legitimately queues for a while.
    core.alarms.backlog('EvaluateBacklog', this.queue, Duration.hours(3));

    const patterns = eventPatterns(config.repositories);
    const target = new eventTargets.SqsQueue(this.queue, {
      deadLetterQueue: core.deliveryDlq,
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    });
    const rules: [string, events.EventPattern, string][] = [
      ['ImageActionRule', patterns.imageAction, 'ECR pushes and deletions'],
      ['ImageScanRule', patterns.imageScan, 'ECR basic scans completed'],
      ['InspectorScanRule', patterns.inspectorScan, 'Inspector initial scans of ECR images'],
      ['InspectorFindingRule', patterns.inspectorFinding, 'Inspector findings on ECR images'],
    ];
    for (const [ruleId, eventPattern, what] of rules) {
      new events.Rule(this, ruleId, {
        description: `registry-watcher: ${what} -> evaluate queue`,
        eventPattern,
        targets: [target],
      });
    }
  }
}

function trustOf(policy: Policy): SignatureTrust[] {
  return [policy.defaults.signatures, ...policy.repositories.map((r) => r.settings.signatures)];
}

/** Whether any rule of the policy checks signatures (keys, keyless identities or required). */
export function usesSignatures(policy: Policy): boolean {
  return trustOf(policy).some((t) => t.required || t.keys.length > 0 || t.keyless.length > 0);
}

/**
 * kms:GetPublicKey for the KMS keys the policy trusts (`keys: [{ kms: <ARN> }]`): a key ARN
 * as given; an alias ARN through the kms:RequestAlias condition on the keys of its account
 * and region (IAM cannot name a key by alias).
 */
export function policyKeyGrants(policy: Policy): KeyGrant[] {
  const arns = [
    ...new Set(
      trustOf(policy).flatMap((t) =>
        t.keys.flatMap((k) => (k.kms ? [k.kms.replace(/^awskms:\/\/\//, '')] : [])),
      ),
    ),
  ];
  const keys = arns.filter((arn) => !arn.includes(':alias/'));
  const grants: KeyGrant[] = keys.length > 0 ? [{ resources: keys }] : [];
  const byAccount = new Map<string, string[]>();
  for (const arn of arns.filter((a) => a.includes(':alias/'))) {
    const [prefix, alias] = arn.split(':alias/') as [string, string];
    byAccount.set(prefix, [...(byAccount.get(prefix) ?? []), `alias/${alias}`]);
  }
  for (const [prefix, aliases] of byAccount) {
    grants.push({
      resources: [`${prefix}:key/*`],
      conditions: { 'ForAnyValue:StringEquals': { 'kms:RequestAlias': aliases } },
    });
  }
  return grants;
}

export interface KeyGrant {
  resources: string[];
  conditions?: Record<string, unknown>;
}
