import { loadFixture } from '../../events';
import { requestsFromEvent } from '../../shared/adapters/aws/evaluate-events';
import { matchesPattern, resourcesOf, synthWatcher } from './support';

type Pattern = Record<string, unknown>;

/** The event patterns of the synthesized rules, as EventBridge receives them. */
function rulesOf(watcher: Parameters<typeof synthWatcher>[0]): Pattern[] {
  const { template } = synthWatcher(watcher);
  return resourcesOf(template, 'AWS::Events::Rule').map(
    ([, r]) => (r as { Properties: { EventPattern: Pattern } }).Properties.EventPattern,
  );
}
const matching = (rules: Pattern[], event: unknown) =>
  rules.filter((p) => matchesPattern(p, event));

const WATCHED = rulesOf({ watcher: { repositories: ['prod/*', 'team-a/web'] } });
const ALL = rulesOf({});

const FIXTURES = [
  'eventbridge/ecr-image-action-push',
  'eventbridge/ecr-image-action-delete',
  'eventbridge/ecr-image-scan-complete',
  'eventbridge/inspector2-scan-ecr',
  'eventbridge/inspector2-finding-ecr',
] as const;

describe('real-shaped events against the synthesized rules', () => {
  it.each(FIXTURES)(
    'GIVEN %s WHEN it reaches the bus THEN exactly one rule sends it to evaluate',
    (name) => {
      const event = loadFixture(name);
      expect(matching(WATCHED, event)).toHaveLength(1);
      expect(matching(ALL, event)).toHaveLength(1);
      // And evaluate can read what the rule let through.
      expect(requestsFromEvent(event)).not.toHaveLength(0);
    },
  );

  it.each(FIXTURES)('GIVEN %s from an unwatched repository THEN no rule matches', (name) => {
    const event = JSON.parse(
      JSON.stringify(loadFixture(name))
        .replaceAll('prod/api', 'sandbox/tool')
        .replaceAll('team-a/web', 'sandbox/tool'),
    ) as unknown;
    expect(matching(WATCHED, event)).toHaveLength(0);
    expect(matching(ALL, event)).toHaveLength(1);
  });

  it.each([
    ['a failed push', 'eventbridge/ecr-image-action-push', ['detail', 'result'], 'FAILURE'],
    ['a failed scan', 'eventbridge/ecr-image-scan-complete', ['detail', 'scan-status'], 'FAILED'],
    ['another action', 'eventbridge/ecr-image-action-push', ['detail', 'action-type'], 'REPLICATE'],
    ['another source', 'eventbridge/ecr-image-action-push', ['source'], 'aws.ecr-public'],
    [
      'another detail type',
      'eventbridge/ecr-image-scan-complete',
      ['detail-type'],
      'ECR Pull Through Cache Action',
    ],
  ] as const)('GIVEN %s THEN no rule matches', (_, name, path, value) => {
    const event = loadFixture(name) as unknown as Pattern;
    const [first, second] = path;
    if (second) (event[first] as Pattern)[second] = value;
    else event[first] = value;
    expect(matching(ALL, event)).toHaveLength(0);
  });

  it('GIVEN an Inspector finding on a Lambda function THEN no rule matches', () => {
    const event = loadFixture('eventbridge/inspector2-finding-ecr') as unknown as Pattern;
    const resources = (event.detail as { resources: Pattern[] }).resources;
    for (const r of resources) r.type = 'AWS_LAMBDA_FUNCTION';
    expect(matching(ALL, event)).toHaveLength(0);
  });

  it('GIVEN a repository under a watched prefix, nested THEN the Inspector scan rule matches', () => {
    const event = JSON.parse(
      JSON.stringify(loadFixture('eventbridge/inspector2-scan-ecr')).replaceAll(
        'prod/api',
        'prod/team/api',
      ),
    ) as unknown;
    expect(matching(WATCHED, event)).toHaveLength(1);
  });
});
