import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type * as z from 'zod';
import { allowlistKeys } from '../shared/adapters/aws/s3-allowlist-store';
import { ON_FAILURE_PREFIX, PARKED_PREFIX } from '../shared/adapters/aws/s3-record-parking';
import { VERDICT_TABLE } from '../shared/adapters/aws/verdict-table';
import { SLACK_SECRET_VARIABLE, slackEnvironment } from '../shared/adapters/slack/environment';
import { parseDuration } from '../shared/domain/duration';
import {
  allowlistEnvironment,
  changesEnvironment,
  NOTIFY_TIMEOUT as NOTIFY_LEASE,
  notifyEnvironment,
} from '../shared/publishing-config';
import {
  allowMarkers,
  POLICY_FILE_NAME,
  VISIBILITY_FACTOR,
  visibilityFor,
  type WatcherCore,
} from './core';
import { durationSetting } from './props';
import {
  deadLetterQueue,
  noQueueDeadLettersInto,
  onlyItsSourcesSend,
  secureQueue,
} from './storage';
import { type AnyWatcherFunction, TASK_ROOT, WatcherFunction } from './watcher-function';

/**
 * Debounce window of allowlist rebuilds = the FIFO queue's delivery delay (docs/allowlist.md):
 * one second (SQS delays count whole seconds) collapses each stream batch's request.
 */
export const REBUILD_DEBOUNCE = Duration.seconds(1);

/**
 * Shortest gap between two publications: a change after a quiet spell is published at
 * once; under load the changes of each gap go out together (`npm run bench -- time-to-gate`).
 */
export const REBUILD_MIN_INTERVAL = Duration.seconds(3);

/** Concurrent batches per stream shard (`npm run bench -- time-to-gate`, burst). */
export const STREAM_PARALLELIZATION = 10;

/** No publication for this long alarms: re-signed at least hourly, valid for a day by default. */
export const ALLOWLIST_AGE_ALARM = Duration.hours(2);

/**
 * notify's timeout = its marker lease (one figure, shared/publishing-config.ts). Worst case:
 * 5 Retry-After waits of at most 30 s and 6 attempts of at most 10 s (docs/alerts.md).
 */
export const NOTIFY_TIMEOUT = Duration.seconds(parseDuration(NOTIFY_LEASE) / 1000);

/** Receives of one Slack message (failures and Retry-After deferrals) before its DLQ. */
export const NOTIFY_MAX_RECEIVES = 10;

/** A Slack message still queued after this long alarms (Slack down or throttling for long). */
export const NOTIFY_QUEUE_AGE_ALARM = Duration.hours(1);

export interface PublicationProps {
  readonly core: WatcherCore;
  readonly bucket: s3.IBucket;
  readonly failedRecords: s3.IBucket;
  readonly verdictTopic: sns.ITopic;
  readonly topicKey: kms.IKey;
}

/**
 * What follows a verdict (DESIGN §3): `changes` reads the table's stream, publishes one
 * verdict event per transition and asks for an allowlist rebuild through a FIFO queue that
 * debounces bursts; `allowlist` (the single writer) builds, signs and writes it to S3, and
 * is also scheduled so the document is re-signed before it expires; `notify` turns verdict
 * events into Slack messages when a webhook secret is configured.
 */
export class Publication extends Construct {
  readonly changes: AnyWatcherFunction;
  readonly allowlist: AnyWatcherFunction;
  readonly notify?: AnyWatcherFunction;
  /** The notify queue and its DLQ (with Slack): the stack restricts who may send to it. */
  readonly notifyQueues?: { queue: sqs.Queue; dlq: sqs.Queue };
  readonly rebuildQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: PublicationProps) {
    super(scope, id);
    const { core } = props;
    const common = {
      logRetention: core.config.logRetention,
      removalPolicy: core.config.removalPolicy,
    };

    // allowlist: FIFO rebuild requests (and the schedule) → signed allowlist in S3.
    const allowlistFailures = asyncFailureQueue(this, core, 'AllowlistFailures', 'allowlist');
    this.allowlist = new WatcherFunction(this, 'Allowlist', {
      name: 'allowlist',
      description: 'registry-watcher: builds, signs and publishes the allowlist (single writer)',
      environmentSchema: allowlistEnvironment,
      environment: {
        TABLE_NAME: core.table.tableName,
        ALLOWLIST_BUCKET: props.bucket.bucketName,
        ALLOWLIST_KMS_KEY_ID: core.allowlistKey.key.keyArn,
        ALLOWLIST_VALIDITY: durationSetting(core.config.allowlistValidity),
        ALLOWLIST_NOT_ADMITTED: String(core.config.allowlistNotAdmitted),
        REBUILD_DEBOUNCE: durationSetting(REBUILD_DEBOUNCE),
        REBUILD_MIN_INTERVAL: durationSetting(REBUILD_MIN_INTERVAL),
        POLICY_FILE: `${TASK_ROOT}/${POLICY_FILE_NAME}`,
      },
      files: { [POLICY_FILE_NAME]: { text: core.policyJson } },
      timeout: Duration.minutes(2),
      memorySize: 1024,
      // Single writer: one build at a time, so sequences and S3 writes never interleave.
      // (maxConcurrency cannot say 1: its minimum is 2.)
      reservedConcurrentExecutions: 1,
      // The schedule invokes asynchronously: a publication failing after Lambda's two
      // retries lands here instead of vanishing.
      onFailure: new destinations.SqsDestination(allowlistFailures),
      retryAttempts: 2,
      ...common,
    });
    const rebuildDlq = secureQueue(this, 'RebuildDlq', {
      fifo: true,
      retentionPeriod: Duration.days(14),
    });
    this.rebuildQueue = secureQueue(this, 'RebuildQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      // A request becomes visible when its debounce window has closed.
      deliveryDelay: REBUILD_DEBOUNCE,
      visibilityTimeout: visibilityFor(this.allowlist),
      deadLetterQueue: { queue: rebuildDlq, maxReceiveCount: 5 },
    });
    this.allowlist.function.addEventSource(
      new sources.SqsEventSource(this.rebuildQueue, { batchSize: 10 }),
    );
    const objects = Object.values(allowlistKeys()).map((key) => props.bucket.arnForObjects(key));
    this.allowlist
      .allow(
        ['dynamodb:Query'],
        [VERDICT_TABLE.admittedIndex, VERDICT_TABLE.refusedIndex].map(
          (index) => `${core.table.tableArn}/index/${index}`,
        ),
      )
      .allow(['dynamodb:UpdateItem'], [core.table.tableArn], {
        'ForAllValues:StringEquals': {
          'dynamodb:LeadingKeys': [VERDICT_TABLE.counterPartitionKey],
        },
      })
      // The rebuild requests' dirty records, read by key: the index lags (docs/allowlist.md).
      .allow(['dynamodb:BatchGetItem'], [core.table.tableArn], {
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': [`${VERDICT_TABLE.imagePrefix}*`],
        },
      })
      .allow(['s3:GetObject', 's3:PutObject'], objects)
      // Without ListBucket a HEAD of the not yet published allowlist answers 403, not 404.
      .allow(['s3:ListBucket'], [props.bucket.bucketArn]);
    core.allowlistKey.grantSign(this.allowlist.role);
    onlyItsSourcesSend(allowlistFailures, [this.allowlist.role]);
    onlyItsSourcesSend(rebuildDlq);
    core.watch(this.allowlist, 'allowlist');
    core.alarms.deadLetterQueue('RebuildDlqNotEmpty', rebuildDlq, 'An allowlist rebuild request');
    core.alarms.allowlistExpired(
      'AllowlistExpired',
      this.allowlist.function,
      core.config.allowlistValidity,
    );
    core.alarms.allowlistAge('AllowlistAge', ALLOWLIST_AGE_ALARM);
    const resignEvery = Duration.minutes(
      Math.min(60, Math.floor(core.config.allowlistValidity.toMinutes() / 4)),
    );
    new scheduler.Schedule(this, 'Resign', {
      description: 'registry-watcher: re-signs the allowlist well before it expires',
      schedule: scheduler.ScheduleExpression.rate(resignEvery),
      target: new schedulerTargets.LambdaInvoke(this.allowlist.function, {
        role: core.schedulerRole,
        deadLetterQueue: core.deliveryDlq,
        retryAttempts: 3,
        maxEventAge: resignEvery,
      }),
    });
    acknowledgeScheduledInvoke(core, this.allowlist);

    // changes: the table's stream → SNS verdict events + rebuild requests.
    this.changes = new WatcherFunction(this, 'Changes', {
      name: 'changes',
      description: 'registry-watcher: announces verdict transitions and marks the allowlist dirty',
      environmentSchema: changesEnvironment,
      environment: {
        TABLE_NAME: core.table.tableName,
        VERDICT_TOPIC_ARN: props.verdictTopic.topicArn,
        ALLOWLIST_QUEUE_URL: this.rebuildQueue.queueUrl,
        REBUILD_DEBOUNCE: durationSetting(REBUILD_DEBOUNCE),
        FAILED_RECORDS_BUCKET: props.failedRecords.bucketName,
      },
      timeout: Duration.seconds(60),
      memorySize: 256,
      alsoOnAnyResource:
        "The stream event source adds dynamodb:ListStreams, which supports no resource-level permissions; the records themselves are read on this table's stream ARN only.",
      ...common,
    });
    const stream = new sources.DynamoEventSource(core.table, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(1),
      bisectBatchOnError: true,
      retryAttempts: 10,
      maxRecordAge: Duration.days(1),
      reportBatchItemFailures: true,
      // Ten batches at once per shard: Lambda keeps the order per item key, so events about
      // one digest stay in order, and a burst is announced (and reaches the gate) 10× sooner.
      parallelizationFactor: STREAM_PARALLELIZATION,
      // The whole batch (not only shard coordinates): `registry-watcher replay` reads it.
      onFailure: new FailedBatches(props.failedRecords),
      metricsConfig: { metrics: [lambda.MetricType.EVENT_COUNT] },
      // Only CURRENT items carry verdicts: history items, markers and the counter never invoke.
      filters: [
        lambda.FilterCriteria.filter({
          dynamodb: {
            Keys: {
              [VERDICT_TABLE.sortKey]: {
                S: lambda.FilterRule.isEqual(VERDICT_TABLE.currentSortKey),
              },
            },
          },
        }),
      ],
    });
    this.changes.function.addEventSource(stream);
    this.changes
      .allow(['sns:Publish'], [props.verdictTopic.topicArn])
      .allow(['kms:GenerateDataKey', 'kms:Decrypt'], [props.topicKey.keyArn])
      .allow(['sqs:SendMessage'], [this.rebuildQueue.queueArn]);
    allowMarkers(this.changes, core.table);
    core.watch(this.changes, 'changes');
    this.changes.allow(['s3:PutObject'], [props.failedRecords.arnForObjects(`${PARKED_PREFIX}*`)]);
    for (const prefix of [PARKED_PREFIX, ON_FAILURE_PREFIX]) {
      const bucket = core.table.stack.getLogicalId(
        props.failedRecords.node.defaultChild as s3.CfnBucket,
      );
      Validations.of(this.changes.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucket}.Arn>/${prefix}*]`,
        reason: `s3:PutObject only, under ${prefix} of the failed-records bucket: ${prefix === PARKED_PREFIX ? 'the function parks each unreadable record under its sequence number' : "Lambda's S3 on-failure destination names its objects by mapping, shard and time"}.`,
      });
    }
    core.alarms.parkedRecords('ChangesParkedRecords', props.failedRecords.bucketName);
    core.alarms.streamOnFailure(
      'ChangesOnFailure',
      stream.eventSourceMappingId,
      props.failedRecords.bucketName,
    );
    core.alarms.iteratorAge('ChangesIteratorAge', this.changes.function, Duration.minutes(10));
    core.alarms.batchItemFailures('ChangesBatchItemFailures', 'changes', 'stream records');

    if (core.config.slackWebhookSecret) {
      const slack = this.alertChannel(
        core,
        props.verdictTopic,
        slackChannel(core.config.slackWebhookSecret),
      );
      this.notify = slack.notify;
      this.notifyQueues = { queue: slack.queue, dlq: slack.dlq };
    }
  }

  /**
   * notify for one alert channel: verdict events → SNS → SQS (raw delivery) → notify → the
   * channel, paced by a single container. The queue is what lets a long Retry-After be
   * honoured: the message is deferred by its visibility timeout instead of spending retries
   * (docs/alerts.md). A channel is an `AlertChannel`; Slack is the first.
   */
  private alertChannel(
    core: WatcherCore,
    topic: sns.ITopic,
    channel: AlertChannel,
  ): { notify: AnyWatcherFunction; queue: sqs.Queue; dlq: sqs.Queue } {
    const { id, title } = channel;
    const secret = importSecret(this, channel.secret.id, channel.secret.ref);
    const dlq = deadLetterQueue(
      this,
      'NotifyDlq',
      'verdict events the notify function could not deliver to Slack',
    );
    onlyItsSourcesSend(dlq);
    const queue = secureQueue(this, 'NotifyQueue', {
      visibilityTimeout: Duration.seconds(NOTIFY_TIMEOUT.toSeconds() * VISIBILITY_FACTOR),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: dlq, maxReceiveCount: NOTIFY_MAX_RECEIVES },
    });
    const notify = new WatcherFunction(this, id, {
      name: 'notify',
      description: `registry-watcher: ${title} messages for verdict transitions and the daily digest`,
      environmentSchema: notifyEnvironment.extend(channel.environment.shape),
      environment: {
        TABLE_NAME: core.table.tableName,
        [channel.secret.variable]: secret.secretArn,
        NOTIFY_QUEUE_URL: queue.queueUrl,
        // A claimed marker must outlive the invocation that holds it.
        MARKER_LEASE: durationSetting(NOTIFY_TIMEOUT),
      },
      timeout: NOTIFY_TIMEOUT,
      memorySize: 256,
      // One container paces all posts to the webhook (~1 message/s).
      reservedConcurrentExecutions: 1,
      logRetention: core.config.logRetention,
      removalPolicy: core.config.removalPolicy,
    });
    topic.addSubscription(
      new subscriptions.SqsSubscription(queue, { rawMessageDelivery: true, deadLetterQueue: dlq }),
    );
    notify.function.addEventSource(
      new sources.SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    notify.allow(
      ['secretsmanager:GetSecretValue'],
      [secret.secretFullArn ?? `${secret.secretArn}-??????`],
    );
    allowMarkers(notify, core.table);
    core.watch(notify, channel.metricName);
    core.alarms.deadLetterQueue(`${id}DlqNotEmpty`, dlq, `A ${title} notification`);
    core.alarms.queueAge(`${id}QueueAge`, queue, NOTIFY_QUEUE_AGE_ALARM, `${title} notifications`);
    core.alarms.batchItemFailures(
      `${id}BatchItemFailures`,
      channel.metricName,
      `${title} messages`,
    );
    return { notify, queue, dlq };
  }
}

/**
 * An alert channel as infra builds it: its own queue, DLQ, notify function (the
 * functions/notify bundle, whose composition root picks the sink from the environment),
 * secret and alarms. docs/architecture.md, "How to add an alert channel".
 */
export interface AlertChannel {
  /** Prefix of its construct ids (Slack, the first channel, keeps `Notify`). */
  readonly id: string;
  /** What descriptions and alarms call it. */
  readonly title: string;
  /** The function's metric and alarm name (`core.watch`). */
  readonly metricName: string;
  /** The channel's own part of notify's environment, declared beside its adapter. */
  readonly environment: z.ZodObject;
  /**
   * Its credentials: construct id, ARN or name, and the variable of `environment` that
   * carries the ARN.
   */
  readonly secret: { id: string; ref: string; variable: string };
}

/** Slack: an incoming webhook URL in Secrets Manager. */
export function slackChannel(secretRef: string): AlertChannel {
  return {
    id: 'Notify',
    title: 'Slack',
    metricName: 'notify',
    environment: slackEnvironment,
    secret: { id: 'SlackWebhook', ref: secretRef, variable: SLACK_SECRET_VARIABLE },
  };
}

/**
 * The on-failure destination of a function invoked asynchronously (Scheduler, SNS): what
 * failed after Lambda's async retries, with the request and the error, and an alarm.
 */
export function asyncFailureQueue(
  scope: Construct,
  core: WatcherCore,
  id: string,
  fn: string,
): sqs.Queue {
  const queue = deadLetterQueue(scope, id, `asynchronous invocations of ${fn} that kept failing`);
  noQueueDeadLettersInto(queue);
  core.alarms.deadLetterQueue(`${id}NotEmpty`, queue, `An asynchronous invocation of ${fn}`);
  return queue;
}

/** Scheduler's LambdaInvoke grants the function and its versions (`<arn>:*`) on our role. */
export function acknowledgeScheduledInvoke(core: WatcherCore, fn: AnyWatcherFunction): void {
  const logicalId = fn.function.node.defaultChild as lambda.CfnFunction;
  Validations.of(core.schedulerRole).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${core.table.stack.getLogicalId(logicalId)}.Arn>:*]`,
    reason: `The schedule target grants lambda:InvokeFunction on the ${fn.node.id} function and its versions/aliases (<arn>:*); no other function is reachable.`,
  });
}

/** A secret by full ARN, partial ARN or name. */
function importSecret(scope: Construct, id: string, arnOrName: string): secretsmanager.ISecret {
  if (!arnOrName.startsWith('arn:')) {
    return secretsmanager.Secret.fromSecretNameV2(scope, id, arnOrName);
  }
  return /-[A-Za-z0-9]{6}$/.test(arnOrName)
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, arnOrName)
    : secretsmanager.Secret.fromSecretPartialArn(scope, id, arnOrName);
}

/**
 * Lambda's S3 on-failure destination for a stream (the whole batch, not only shard
 * coordinates) with the least the mapping needs: PutObject under `aws/lambda/` and
 * ListBucket. aws-cdk-lib's S3OnFailureDestination grants read/write on the whole bucket.
 */
class FailedBatches implements lambda.IEventSourceDlq {
  constructor(private readonly bucket: s3.IBucket) {}

  bind(_target: lambda.IEventSourceMapping, fn: lambda.IFunction): lambda.DlqDestinationConfig {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${ON_FAILURE_PREFIX}*`)],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
    return { destination: this.bucket.bucketArn };
  }
}
