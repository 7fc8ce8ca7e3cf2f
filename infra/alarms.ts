import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

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

  /** Errors (an invocation that threw) and sustained throttling of one function. */
  function(id: string, fn: lambda.IFunction, name: string): void {
    this.add(`${id}Errors`, {
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The ${name} function failed. Its log group has the error; the event is retried, then dead-lettered.`,
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

  /** Evaluations waiting longer than `age`: the evaluate function cannot keep up or is failing. */
  backlog(id: string, queue: sqs.IQueue, age: Duration): cloudwatch.Alarm {
    return this.add(id, {
      metric: queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: age.toSeconds(),
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The oldest evaluation request in ${queue.queueName} waited more than ${age.toHumanString()}: verdicts lag behind pushes. Check the evaluate function's errors and throttling, and ECR throttling in its logs.`,
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
