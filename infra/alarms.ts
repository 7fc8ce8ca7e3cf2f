import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  ALLOWLIST_PUBLISHED,
  BATCH_ITEM_FAILURES,
  METRICS_NAMESPACE,
  PARKED_RECORDS,
} from '../shared/adapters/aws/batch-metrics';

/** A custom metric of one function (powertools EMF: dimension `service`). */
function watcherMetric(name: string, service: string, period = Duration.minutes(5)) {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service },
    period,
    statistic: 'Sum',
  });
}

export interface WatcherAlarmsProps {
  /** Where alarms (and their return to OK) are announced. */
  readonly topic: sns.ITopic;
}

/**
 * The alarms of the watcher. Each says what is wrong and where to look; all notify one
 * topic, on ALARM and on OK.
 */
export class WatcherAlarms extends Construct {
  private readonly action: actions.SnsAction;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: WatcherAlarmsProps) {
    super(scope, id);
    this.action = new actions.SnsAction(props.topic);
  }

  /** Any message in a dead-letter queue is an event the watcher did not handle. */
  deadLetterQueue(id: string, queue: sqs.IQueue, what: string): cloudwatch.Alarm {
    return this.add(id, {
      metric: queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${what} landed in the dead-letter queue ${queue.queueName}. Read the messages (and the function's logs for the reason), fix the cause, then redrive them to their source.`,
    });
  }

  /** The oldest message of a work queue waited longer than `max`: its consumer is not keeping up. */
  queueAge(id: string, queue: sqs.IQueue, max: Duration, what: string): cloudwatch.Alarm {
    return this.add(id, {
      metric: queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: max.toSeconds(),
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${what} have waited ${max.toHumanString()} or more in ${queue.queueName}: the consumer keeps failing or is deferred (Slack Retry-After). Read its logs.`,
    });
  }

  /** Errors (an invocation that threw) and sustained throttling of one function. */
  function(id: string, fn: lambda.IFunction, name: string): void {
    this.add(`${id}Errors`, {
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The ${name} function failed. Its log group has the error; the event is retried, then dead-lettered or sent to its on-failure queue.`,
    });
    this.add(`${id}Throttles`, {
      metric: fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The ${name} function was throttled in 2 of the last 3 five-minute periods: the account's Lambda concurrency is exhausted or its reservation is too small.`,
    });
  }

  /**
   * No successful allowlist publication for a whole validity: the published document has
   * expired and consumers apply their failure mode. Periods of one hour (the window is
   * rounded up to whole hours); a window with no invocation at all also alarms.
   */
  allowlistExpired(id: string, fn: lambda.IFunction, validity: Duration): cloudwatch.Alarm {
    const hours = Math.ceil(validity.toMinutes({ integral: false }) / 60);
    const period = Duration.hours(1);
    const published = new cloudwatch.MathExpression({
      expression: 'FILL(invocations, 0) - FILL(errors, 0)',
      usingMetrics: {
        invocations: fn.metricInvocations({ period, statistic: 'Sum' }),
        errors: fn.metricErrors({ period, statistic: 'Sum' }),
      },
      period,
      label: 'successful allowlist publications',
    });
    return this.add(id, {
      metric: published,
      threshold: 1,
      evaluationPeriods: hours,
      datapointsToAlarm: hours,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      alarmDescription: `No allowlist was published for ${hours} h, its validity: the allowlist in S3 has expired and admission controllers apply their failure mode. Check the allowlist function's errors and its schedule.`,
    });
  }

  /**
   * Items a batch handler handed back for a retry, counted by the function itself
   * (`BatchItemFailures`, docs/hops.md): they never reach `Errors`. Sustained, not one blip.
   */
  batchItemFailures(id: string, service: string, what: string): cloudwatch.Alarm {
    return this.add(id, {
      metric: watcherMetric(BATCH_ITEM_FAILURES, service),
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The ${service} function handed ${what} back for a retry in 2 of the last 3 five-minute periods. Its log names each item and the error; items that keep failing end in the source's DLQ or on-failure destination.`,
    });
  }

  /** Any stream record `changes` parked: it needs a fix (or a newer reader), then `replay`. */
  parkedRecords(id: string, bucket: string): cloudwatch.Alarm {
    return this.add(id, {
      metric: watcherMetric(PARKED_RECORDS, 'changes'),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The changes function parked stream records it cannot read under s3://${bucket}/parked/changes/. Read the reason in each object, fix the writer or the reader, then run registry-watcher replay.`,
    });
  }

  /** Records Lambda gave up on and wrote to the stream's S3 on-failure destination. */
  streamOnFailure(id: string, mappingId: string, bucket: string): cloudwatch.Alarm {
    return this.add(id, {
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName: 'OnFailureDestinationDeliveredEventCount',
        dimensionsMap: { EventSourceMappingUUID: mappingId },
        period: Duration.minutes(5),
        statistic: 'Sum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `Lambda's retries of a stream batch ran out: the batch is in s3://${bucket}/aws/lambda/. Fix the cause (the changes function's log), then run registry-watcher replay.`,
    });
  }

  /** The stream's oldest unread record is older than `age`: announcements lag or are stuck. */
  iteratorAge(id: string, fn: lambda.IFunction, age: Duration): cloudwatch.Alarm {
    return this.add(id, {
      metric: fn.metric('IteratorAge', { period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: age.toMilliseconds(),
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The changes function reads stream records older than ${age.toHumanString()}: a record is being retried (see BatchItemFailures) or the function is throttled. Verdict events and allowlist rebuilds wait behind it.`,
    });
  }

  /**
   * No successful allowlist publication for `window`, long before `validUntil`: the function
   * emits `AllowlistPublished` once per publication; missing data counts as none.
   */
  allowlistAge(id: string, window: Duration): cloudwatch.Alarm {
    const hours = Math.ceil(window.toMinutes({ integral: false }) / 60);
    return this.add(id, {
      metric: watcherMetric(ALLOWLIST_PUBLISHED, 'allowlist', Duration.hours(1)),
      threshold: 1,
      evaluationPeriods: hours,
      datapointsToAlarm: hours,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      alarmDescription: `No allowlist was published for ${hours} h although it is re-signed at least hourly: allowlist.json is ageing towards validUntil. Check the allowlist function's errors, its on-failure queue and its schedule.`,
    });
  }

  /** Requests waiting longer than `age`: their function cannot keep up or is failing. */
  backlog(
    id: string,
    queue: sqs.IQueue,
    age: Duration,
    about = {
      what: 'evaluation request',
      lag: 'verdicts lag behind pushes',
      check: "the evaluate function's errors and throttling, and ECR throttling in its logs",
    },
  ): cloudwatch.Alarm {
    return this.add(id, {
      metric: queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: age.toSeconds(),
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The oldest ${about.what} in ${queue.queueName} waited more than ${age.toHumanString()}: ${about.lag}. Check ${about.check}.`,
    });
  }

  private add(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, props);
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }
}
