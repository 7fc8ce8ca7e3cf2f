import { Match } from 'aws-cdk-lib/assertions';
import {
  actionsOf,
  arnOf,
  functionId,
  propsOf,
  queueId,
  ref,
  synthFull,
  synthWatcher,
} from './support';

// The Rescans construct (infra/rescans.ts): the nightly planner.
type Json = Record<string, unknown>;

// GIVEN the watcher with every optional part on (Slack, e-mail, watched repositories).
const full = synthFull();

describe('nightly rescan', () => {
  it('THEN the scheduler starts the planner at the configured time in the configured zone', () => {
    const { template } = synthWatcher({
      watcher: { rescanSchedule: 'cron(30 3 ? * MON-FRI *)', rescanTimeZone: 'Europe/Paris' },
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 3 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      Target: Match.objectLike({
        Arn: arnOf(functionId(template, 'Planner')),
        Input: '{"action":"start"}',
        DeadLetterConfig: Match.anyValue(),
      }),
    });
  });

  it('THEN the planner continues through its own queue and plans into the evaluate queue', () => {
    const planner = functionId(full.template, 'Planner');
    const continuation = queueId(full.template, 'ContinuationQueue');
    const env = (
      propsOf(full.template, 'AWS::Lambda::Function', planner).Environment as { Variables: Json }
    ).Variables;
    expect(env).toMatchObject({
      CONTINUATION_QUEUE_URL: ref(continuation),
      EVALUATE_QUEUE_URL: ref(queueId(full.template, 'EvaluationQueue')),
      REPOSITORIES: 'prod/api,team/**',
    });
    full.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(planner),
      EventSourceArn: arnOf(continuation),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it.each([
    ['basic', true],
    ['enhanced', false],
  ] as const)('WHEN scanning is %s THEN StartImageScan granted: %s', (scanningMode, granted) => {
    const { template } = synthWatcher({ watcher: { scanningMode } });
    expect(actionsOf(template, 'PlannerRole').includes('ecr:StartImageScan')).toBe(granted);
    expect(
      JSON.stringify(template.findResources('AWS::IAM::Policy')).includes(
        'inspector2:ListFindings',
      ),
    ).toBe(!granted);
  });
});
