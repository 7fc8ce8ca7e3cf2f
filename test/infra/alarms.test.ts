import { ref, resourcesOf, synthFull, synthWatcher } from './support';

// WatcherAlarms (infra/alarms.ts).
type Json = Record<string, unknown>;

// GIVEN the watcher with every optional part on (Slack, e-mail, watched repositories).
const full = synthFull();
// GIVEN the watcher with its defaults only.
const bare = synthWatcher();

describe('alarms and outputs', () => {
  const alarms = resourcesOf(full.template, 'AWS::CloudWatch::Alarm').map(
    ([, a]) => (a as { Properties: Json }).Properties,
  );

  it('THEN every dead-letter queue has an alarm at one message', () => {
    const dlqs = resourcesOf(full.template, 'AWS::SQS::Queue')
      .map(([id]) => id)
      .filter((id) => /Dlq|Failures/.test(id));
    // delivery, evaluate, attestor, rebuild, notify, continuation; allowlist and planner on-failure
    expect(dlqs).toHaveLength(8);
    for (const dlq of dlqs) {
      expect(alarms).toContainEqual(
        expect.objectContaining({
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        }),
      );
    }
  });

  it('THEN every function alarms on errors and on sustained throttling', () => {
    for (const [id] of resourcesOf(full.template, 'AWS::Lambda::Function')) {
      for (const metric of ['Errors', 'Throttles']) {
        expect(alarms).toContainEqual(
          expect.objectContaining({
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: ref(id) }],
          }),
        );
      }
    }
  });

  it('THEN the allowlist alarms when nothing was published for its whole validity', () => {
    expect(alarms).toContainEqual(
      expect.objectContaining({
        EvaluationPeriods: 24,
        DatapointsToAlarm: 24,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        TreatMissingData: 'breaching',
        Metrics: expect.arrayContaining([
          expect.objectContaining({ Expression: 'FILL(invocations, 0) - FILL(errors, 0)' }),
        ]),
      }),
    );
  });

  it('THEN there are 33 with Slack on (8 queues, 6 × errors and throttles, expiry, age, 2 backlogs, Slack queue age, 5 batch failures, parked, on-failure, iterator age), 28 without', () => {
    expect(alarms).toHaveLength(33);
    expect(resourcesOf(bare.template, 'AWS::CloudWatch::Alarm')).toHaveLength(28);
  });

  it('THEN every alarm notifies the alarm topic, which mails the operators', () => {
    const topic = ref(expect.stringMatching(/AlarmTopic/));
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([topic]);
      expect(alarm.OKActions).toEqual([topic]);
    }
    full.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });
});
