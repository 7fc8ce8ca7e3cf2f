import { Token } from 'aws-cdk-lib';
import { RegistryWatcherStack } from '../../infra/stack';
import { checkEnvironment } from '../../infra/watcher-function';
import { changesEnvironment } from '../../shared/publishing-config';
import { rescanEnvironment } from '../../shared/rescan-environment';
import { testApp } from './support';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:verdicts';
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/allowlist-rebuild.fifo';

describe('the house construct wires exactly what a handler reads', () => {
  it.each<[string, Record<string, string>, string | undefined]>([
    [
      'every required variable',
      {
        TABLE_NAME: 'verdicts',
        VERDICT_TOPIC_ARN: TOPIC,
        ALLOWLIST_QUEUE_URL: QUEUE,
        FAILED_RECORDS_BUCKET: 'failed-records',
      },
      undefined,
    ],
    [
      'values only known at deploy time',
      {
        TABLE_NAME: Token.asString({ Ref: 'T' }),
        VERDICT_TOPIC_ARN: Token.asString({ Ref: 'S' }),
        ALLOWLIST_QUEUE_URL: Token.asString({ Ref: 'Q' }),
        FAILED_RECORDS_BUCKET: Token.asString({ Ref: 'B' }),
      },
      undefined,
    ],
    [
      'a missing variable',
      { TABLE_NAME: 'verdicts', VERDICT_TOPIC_ARN: TOPIC },
      'ALLOWLIST_QUEUE_URL is required by the handler but not set',
    ],
    [
      'a variable the handler never reads',
      {
        TABLE_NAME: 'verdicts',
        VERDICT_TOPIC_ARN: TOPIC,
        ALLOWLIST_QUEUE_URL: QUEUE,
        FAILED_RECORDS_BUCKET: 'failed-records',
        TOPIC_ARN: TOPIC,
      },
      'TOPIC_ARN is not read by the handler',
    ],
    [
      'a value its schema refuses',
      {
        TABLE_NAME: 'verdicts',
        VERDICT_TOPIC_ARN: TOPIC,
        ALLOWLIST_QUEUE_URL: QUEUE,
        FAILED_RECORDS_BUCKET: 'failed-records',
        REBUILD_DEBOUNCE: 'half a minute',
      },
      'REBUILD_DEBOUNCE="half a minute": expected a duration',
    ],
  ])('GIVEN %s', (_, environment, problem) => {
    const check = () => checkEnvironment('changes', changesEnvironment, environment);
    if (problem) expect(check).toThrow(problem);
    else expect(check).not.toThrow();
  });

  it('GIVEN a variable the runtime sets (AWS_REGION) THEN it counts as set and may not be set', () => {
    const base = {
      TABLE_NAME: 'verdicts',
      EVALUATE_QUEUE_URL: QUEUE,
      CONTINUATION_QUEUE_URL: QUEUE,
    };
    expect(() => checkEnvironment('rescan-planner', rescanEnvironment, base)).not.toThrow();
    expect(() =>
      checkEnvironment('rescan-planner', rescanEnvironment, { ...base, AWS_REGION: 'eu-west-1' }),
    ).toThrow('AWS_REGION is reserved: the Lambda runtime sets it');
  });
});

describe('the house construct keeps "*" out of the default policy', () => {
  it('GIVEN a grant on "*" WHEN added with allow THEN it is refused with the way out', () => {
    const stack = new RegistryWatcherStack(testApp(), 'W');
    expect(() => stack.watcher.functions.changes?.allow(['sns:ListTopics'], ['*'])).toThrow(
      'sns:ListTopics on "*": use anyResourcePolicy (infra/core.ts) and say why',
    );
  });
});
