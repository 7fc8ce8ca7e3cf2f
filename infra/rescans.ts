import { Duration, TimeZone, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RESCAN_CHECKPOINT_KEY } from '../shared/adapters/aws/rescan-checkpoints';
import { VERDICT_TABLE } from '../shared/adapters/aws/verdict-table';
import { rescanEnvironment } from '../shared/rescan-environment';
import {
  acknowledgeRepositoryWildcards,
  POLICY_FILE_NAME,
  repositoryArns,
  VISIBILITY_FACTOR,
  type WatcherCore,
} from './core';
import type { WatchedRepository } from './props';
import { acknowledgeScheduledInvoke, asyncFailureQueue } from './publication';
import { onlyItsSourcesSend, secureQueue } from './storage';
import { type AnyWatcherFunction, TASK_ROOT, WatcherFunction } from './watcher-function';

/** A run longer than this continues in a new invocation (the planner keeps a reserve). */
const PLANNER_TIMEOUT = Duration.minutes(15);

export interface RescansProps {
  readonly core: WatcherCore;
  readonly evaluateQueue: sqs.IQueue;
  readonly verdictTopic: sns.ITopic;
  readonly topicKey: kms.IKey;
}

/**
 * The nightly reconciliation (DESIGN §3, docs/rescans.md): EventBridge Scheduler starts the
 * planner in the configured time zone; a run longer than one invocation continues through
 * its own queue; plans go to the evaluate queue; the daily digest goes to the verdict topic.
 */
export class Rescans extends Construct {
  readonly planner: AnyWatcherFunction;
  readonly continuationQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: RescansProps) {
    super(scope, id);
    const { core } = props;
    const { config } = core;
    const continuationDlq = secureQueue(this, 'ContinuationDlq', {
      retentionPeriod: Duration.days(14),
    });
    onlyItsSourcesSend(continuationDlq);
    this.continuationQueue = secureQueue(this, 'ContinuationQueue', {
      visibilityTimeout: Duration.seconds(PLANNER_TIMEOUT.toSeconds() * VISIBILITY_FACTOR),
      deadLetterQueue: { queue: continuationDlq, maxReceiveCount: 3 },
    });
    const plannerFailures = asyncFailureQueue(this, core, 'PlannerFailures', 'rescan-planner');
    this.planner = new WatcherFunction(this, 'Planner', {
      name: 'rescan-planner',
      description: 'registry-watcher: nightly rescans and reconciliation with ECR',
      environmentSchema: rescanEnvironment,
      environment: {
        TABLE_NAME: core.table.tableName,
        EVALUATE_QUEUE_URL: props.evaluateQueue.queueUrl,
        CONTINUATION_QUEUE_URL: this.continuationQueue.queueUrl,
        POLICY_FILE: `${TASK_ROOT}/${POLICY_FILE_NAME}`,
        SCANNING_MODE: config.scanningMode,
        ...(config.repositories.length > 0 && {
          REPOSITORIES: plannerGlobs(config.repositories).join(','),
        }),
        VERDICT_TOPIC_ARN: props.verdictTopic.topicArn,
      },
      files: { [POLICY_FILE_NAME]: { text: core.policyJson } },
      timeout: PLANNER_TIMEOUT,
      memorySize: 1024,
      // One planner at a time; its run lease makes a second one a no-op anyway. Reserved
      // concurrency, not the SQS source's maxConcurrency: the schedule invokes it too.
      reservedConcurrentExecutions: 1,
      // The nightly schedule invokes asynchronously: a run failing after Lambda's two
      // retries lands here (the Scheduler DLQ sees only invocations that never started).
      onFailure: new destinations.SqsDestination(plannerFailures),
      retryAttempts: 2,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });
    this.planner.function.addEventSource(
      new sources.SqsEventSource(this.continuationQueue, {
        batchSize: 1,
        reportBatchItemFailures: true,
      }),
    );

    const repositories = repositoryArns(this, config.repositories);
    const table = core.table.tableArn;
    this.planner
      .allow(
        [
          'ecr:DescribeImages',
          'ecr:BatchGetImage',
          ...(config.scanningMode === 'basic' ? ['ecr:StartImageScan'] : []),
        ],
        repositories,
      )
      // Listing repository names (DescribeRepositories without names) needs repository/*.
      .allow(['ecr:DescribeRepositories'], repositoryArns(this, []))
      .allow(['dynamodb:Scan', 'dynamodb:DescribeTable'], [table])
      // Its run checkpoint only: evaluate writes every image item, deletions included (the
      // planner sends a `delete` request), so no verdict has two writers.
      .allow(['dynamodb:GetItem', 'dynamodb:PutItem'], [table], {
        'ForAllValues:StringEquals': {
          'dynamodb:LeadingKeys': [RESCAN_CHECKPOINT_KEY[VERDICT_TABLE.partitionKey]],
        },
      })
      .allow(['sqs:SendMessage'], [props.evaluateQueue.queueArn, this.continuationQueue.queueArn])
      .allow(['sns:Publish'], [props.verdictTopic.topicArn])
      .allow(['kms:GenerateDataKey', 'kms:Decrypt'], [props.topicKey.keyArn]);
    onlyItsSourcesSend(plannerFailures, [this.planner.role]);
    acknowledgeRepositoryWildcards(this.planner.role, config.repositories);
    if (config.repositories.length > 0) {
      Validations.of(this.planner.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*]',
        reason:
          'ecr:DescribeRepositories (read-only, names and settings) lists every repository only on repository/*; the planner keeps the watched ones. Images are read on the watched repositories only.',
      });
    }
    core.watch(this.planner, 'rescan-planner');
    core.alarms.deadLetterQueue(
      'ContinuationDlqNotEmpty',
      continuationDlq,
      'A rescan continuation',
    );
    core.alarms.batchItemFailures(
      'PlannerBatchItemFailures',
      'rescan-planner',
      'rescan continuations',
    );

    new scheduler.Schedule(this, 'Nightly', {
      description: 'registry-watcher: nightly rescan and reconciliation',
      schedule: scheduler.ScheduleExpression.expression(
        config.rescanSchedule,
        TimeZone.of(config.rescanTimeZone),
      ),
      target: new schedulerTargets.LambdaInvoke(this.planner.function, {
        role: core.schedulerRole,
        input: scheduler.ScheduleTargetInput.fromObject({ action: 'start' }),
        deadLetterQueue: core.deliveryDlq,
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
      }),
    });
    acknowledgeScheduledInvoke(core, this.planner);
  }
}

/** Watched repositories as the planner's globs: a prefix crosses "/" like `**`. */
export function plannerGlobs(watched: readonly WatchedRepository[]): string[] {
  return watched.map((w) => ('name' in w ? w.name : `${w.prefix}**`));
}
