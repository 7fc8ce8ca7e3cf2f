import { relative } from 'node:path';
import { Annotations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { allowlistKeys } from '../shared/adapters/aws/s3-allowlist-store';
import { ConfigError, formatPolicyIssues } from '../shared/domain/errors';
import type { Policy } from '../shared/domain/policy';
import { readPolicyFile } from '../shared/policy-file';
import { WatcherAlarms } from './alarms';
import { Attestation } from './attestation';
import { schedulerRole, type WatcherCore } from './core';
import { Evaluation } from './evaluation';
import { dataKey, keyAdministrator, SigningKey } from './keys';
import { type RegistryWatcherProps, type ResolvedProps, resolveProps } from './props';
import { Publication } from './publication';
import { replayRole } from './replay';
import { Rescans } from './rescans';
import {
  allowlistBucket,
  deadLetterQueue,
  failedRecordsBucket,
  noQueueDeadLettersInto,
  onlyItsSourcesSend,
  verdictTable,
} from './storage';
import type { AnyWatcherFunction } from './watcher-function';

/**
 * registry-watcher in one construct (DESIGN §3): EventBridge rules and a nightly schedule
 * feed an evaluate queue; verdicts land in DynamoDB; its stream announces transitions on
 * SNS (Slack through notify) and rebuilds the signed allowlist in S3. Every asynchronous
 * hop has retries, a dead-letter queue and an alarm; every role gets only what its
 * handler calls, on the watched repositories, the table, the bucket and the keys.
 */
export class RegistryWatcher extends Construct {
  /** The props with every default applied and checked. */
  readonly config: ResolvedProps;
  /** The deployed policy, parsed at synth. */
  readonly policy: Policy;
  /** The verdict table (DESIGN §5): current verdicts, their history, the `admitted` index. */
  readonly table: dynamodb.Table;
  /** Holds the signed allowlist, its bundle and the public key (`grantReadAllowlist`). */
  readonly bucket: s3.Bucket;
  /** Stream records kept whole for `registry-watcher replay` (docs/hops.md). */
  readonly failedRecords: s3.Bucket;
  /** Signs the allowlist; only the allowlist function can use it (DESIGN §6). */
  readonly allowlistKey: kms.IKey;
  /** Signs the verdict attestations; only the attestor function can use it (DESIGN §7). */
  readonly attestationKey: kms.IKey;
  /** Verdict events, one per transition (docs/events.md): subscribe your own consumers here. */
  readonly verdictTopic: sns.Topic;
  /** Where every alarm notifies: `props.alarmTopic` or a new encrypted topic. */
  readonly alarmTopic: sns.ITopic;
  /** Evaluate requests: the rules, the nightly planner and `registry-watcher rescan` send here. */
  readonly evaluateQueue: sqs.Queue;
  /** Attestation requests from evaluate (when attestations are on): the attestor consumes them. */
  readonly attestationQueue?: sqs.Queue;
  /** Allowlist rebuild requests (FIFO): `registry-watcher replay` sends to it. */
  readonly rebuildQueue: sqs.Queue;
  /** The role `registry-watcher replay` runs as: one of the verdict topic's publishers. */
  readonly replayRole: iam.Role;
  /** The alarms of every hop and function (docs/deploy.md "Alarms"). */
  readonly alarms: WatcherAlarms;
  /** Every function by its folder name under functions/. */
  readonly functions: Record<string, AnyWatcherFunction> = {};

  /** @throws ConfigError on a bad prop, PolicyError on a bad policy: both name what and where. */
  constructor(scope: Construct, id: string, props: RegistryWatcherProps = {}) {
    super(scope, id);
    this.config = resolveProps(props);
    const { removalPolicy } = this.config;
    // A bad policy fails synth here with file:line:column for each problem (PolicyError).
    const policy = readPolicyFile(displayPath(this.config.policyFile));
    this.policy = policy.policy;
    // Deprecations (the old apiVersion) show in `cdk synth` output and do not fail it.
    for (const warning of this.policy.warnings) {
      Annotations.of(this).addWarningV2(
        'registry-watcher:policy-deprecated',
        formatPolicyIssues([warning]),
      );
    }

    this.table = verdictTable(this, 'Verdicts', {
      removalPolicy,
      deletionProtection: this.config.deletionProtection,
    });
    const allowlist = allowlistBucket(this, 'Allowlist', {
      removalPolicy,
      ...(props.accessLogsBucket && { accessLogs: props.accessLogsBucket }),
    });
    this.bucket = allowlist.bucket;
    this.failedRecords = failedRecordsBucket(this, 'FailedRecords', {
      removalPolicy,
      accessLogs: allowlist.accessLogs,
      ownLogs: !props.accessLogsBucket,
    });
    if (props.allowlistKey && props.allowlistKey === props.attestationKey) {
      throw new ConfigError(
        'allowlistKey and attestationKey are one key: the role that attests could sign allowlists',
      );
    }
    const administrator = keyAdministrator(this, props.keyAdministrator);
    const allowlistKey = new SigningKey(this, 'AllowlistSigning', {
      signs: 'the allowlist (only the allowlist function)',
      administrator,
      removalPolicy,
      ...(props.allowlistKey && { existing: props.allowlistKey }),
    });
    const attestationKey = new SigningKey(this, 'AttestationSigning', {
      signs: 'the verdict attestations (only the attestor function)',
      administrator,
      removalPolicy,
      ...(props.attestationKey && { existing: props.attestationKey }),
    });
    this.allowlistKey = allowlistKey.key;
    this.attestationKey = attestationKey.key;
    const topicKey = dataKey(this, 'TopicKey', { removalPolicy });
    this.verdictTopic = new sns.Topic(this, 'VerdictEvents', {
      displayName: 'registry-watcher verdict events',
      masterKey: topicKey,
      enforceSSL: true,
    });
    this.alarmTopic =
      props.alarmTopic ??
      new sns.Topic(this, 'AlarmTopic', {
        displayName: 'registry-watcher alarms',
        masterKey: topicKey,
        enforceSSL: true,
      });
    if (this.config.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(this.config.alarmEmail));
    }
    this.alarms = new WatcherAlarms(this, 'Alarms', { topic: this.alarmTopic });
    const deliveryDlq = deadLetterQueue(
      this,
      'DeliveryDlq',
      'events EventBridge rules and Scheduler schedules could not deliver',
    );
    this.alarms.deadLetterQueue('DeliveryDlqNotEmpty', deliveryDlq, 'An event or a schedule');
    noQueueDeadLettersInto(deliveryDlq);

    // Scheduler sends its undeliverable invocations with this role; EventBridge as a service.
    const scheduler = schedulerRole(this, 'SchedulerRole');
    onlyItsSourcesSend(deliveryDlq, [scheduler]);
    const core: WatcherCore = {
      config: this.config,
      policy: this.policy,
      policyJson: policy.json,
      table: this.table,
      allowlistKey,
      attestationKey,
      deliveryDlq,
      alarms: this.alarms,
      schedulerRole: scheduler,
      watch: (fn, name) => {
        this.functions[name] = fn;
        this.alarms.function(pascal(name), fn.function, name);
      },
    };
    const attestation = this.config.attestations
      ? new Attestation(this, 'Attestation', { core })
      : undefined;
    this.attestationQueue = attestation?.queue;
    const evaluation = new Evaluation(this, 'Evaluation', {
      core,
      ...(attestation && { attestationQueue: attestation.queue }),
      ...(this.config.trustedRoot && { trustedRoot: this.config.trustedRoot }),
    });
    this.evaluateQueue = evaluation.queue;
    const publication = new Publication(this, 'Publication', {
      core,
      bucket: this.bucket,
      failedRecords: this.failedRecords,
      verdictTopic: this.verdictTopic,
      topicKey,
    });
    const rescans = new Rescans(this, 'Rescans', {
      core,
      evaluateQueue: evaluation.queue,
      verdictTopic: this.verdictTopic,
      topicKey,
    });
    this.replayRole = replayRole(this, 'ReplayRole', {
      table: this.table,
      failedRecords: this.failedRecords,
      verdictTopic: this.verdictTopic,
      topicKey,
      rebuildQueue: publication.rebuildQueue,
      ...(publication.notifyQueues && { notifyQueues: publication.notifyQueues }),
    });
    this.rebuildQueue = publication.rebuildQueue;
    onlyTheseMay(this.verdictTopic, ['sns:Publish'], [this.verdictTopic.topicArn], {
      sid: 'OnlyTheWatcherPublishes',
      roles: [publication.changes.role, rescans.planner.role, this.replayRole],
    });
    if (publication.notifyQueues) {
      // What lands on the notify queue is posted to Slack: the topic's delivery, and the DLQ
      // redrive through the replay role (docs/hops.md), nobody else.
      onlyTheseMay(
        publication.notifyQueues.queue,
        ['sqs:SendMessage'],
        [publication.notifyQueues.queue.queueArn],
        {
          sid: 'OnlyTheVerdictTopicAndReplaySend',
          roles: [this.replayRole],
          sourceArns: [this.verdictTopic.topicArn],
        },
      );
    }
    onlyTheseMay(
      this.bucket,
      ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'],
      Object.values(allowlistKeys()).map((key) => this.bucket.arnForObjects(key)),
      { sid: 'OnlyTheAllowlistFunctionWritesTheAllowlist', roles: [publication.allowlist.role] },
    );
  }

  /** Read access to the published allowlist, its bundle and the public key (e.g. an IRSA role). */
  grantReadAllowlist(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject'],
      resourceArns: Object.values(allowlistKeys()).map((key) => this.bucket.arnForObjects(key)),
    });
  }
}

/**
 * A resource policy denial: `actions` on `resources` for every principal but `roles`,
 * whatever their IAM policies say (aws:PrincipalArn of a role session is the role's ARN),
 * and but a service acting for one of `sourceArns` (a service request has no PrincipalArn;
 * both keys must fail to match for the deny to apply).
 */
function onlyTheseMay(
  target: { addToResourcePolicy(s: iam.PolicyStatement): unknown },
  actions: string[],
  resources: string[],
  { sid, roles, sourceArns }: { sid: string; roles: iam.IRole[]; sourceArns?: string[] },
): void {
  target.addToResourcePolicy(
    new iam.PolicyStatement({
      sid,
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions,
      resources,
      conditions: {
        ArnNotEquals: {
          'aws:PrincipalArn': roles.map((r) => r.roleArn),
          ...(sourceArns && { 'aws:SourceArn': sourceArns }),
        },
      },
    }),
  );
}

/** A path as a person reads it in an error: relative to the working folder when inside it. */
function displayPath(file: string): string {
  const near = relative(process.cwd(), file);
  return near && !near.startsWith('..') ? near : file;
}

function pascal(name: string): string {
  return name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());
}
