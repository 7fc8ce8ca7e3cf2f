import { ref, resourcesOf, statementsOf, synthFull } from './support';

// What every function gets from the house construct (infra/watcher-function.ts).
type Json = Record<string, unknown>;

// GIVEN the watcher with every optional part on (Slack, e-mail, watched repositories).
const full = synthFull();

describe('every function (the house construct)', () => {
  const functions = resourcesOf(full.template, 'AWS::Lambda::Function');

  it('THEN there are six (the attestor with attestations on), each nodejs22.x on arm64, traced, JSON logs into its own log group', () => {
    expect(functions).toHaveLength(6);
    for (const [, fn] of functions) {
      expect((fn as { Properties: Json }).Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON', LogGroup: ref(expect.stringMatching(/Logs/)) },
      });
      // No --enable-source-maps at load: traces are mapped when formatted (bundles.test.ts).
      const variables = (fn as { Properties: { Environment: { Variables: Json } } }).Properties
        .Environment.Variables;
      expect(variables).not.toHaveProperty('NODE_OPTIONS');
    }
    const groups = resourcesOf(full.template, 'AWS::Logs::LogGroup');
    expect(groups).toHaveLength(6);
    for (const [, g] of groups)
      expect((g as { Properties: Json }).Properties.RetentionInDays).toBe(90);
  });

  it('THEN no role uses a managed policy and no statement has a wildcard action', () => {
    for (const [, role] of resourcesOf(full.template, 'AWS::IAM::Role')) {
      expect((role as { Properties: Json }).Properties.ManagedPolicyArns).toBeUndefined();
    }
    const actions = resourcesOf(full.template, 'AWS::IAM::Policy').flatMap(([, p]) =>
      (
        p as { Properties: { PolicyDocument: { Statement: Json[] } } }
      ).Properties.PolicyDocument.Statement.flatMap((s) => [s.Action].flat() as string[]),
    );
    expect(actions.filter((a) => a === '*' || a.endsWith(':*'))).toEqual([]);
  });

  it('THEN "*" resources hold only actions that have no resource-level permissions', () => {
    const anywhere = resourcesOf(full.template, 'AWS::IAM::Policy').flatMap(([, p]) =>
      (
        p as { Properties: { PolicyDocument: { Statement: Json[] } } }
      ).Properties.PolicyDocument.Statement.filter((s) => s.Resource === '*').flatMap(
        (s) => [s.Action].flat() as string[],
      ),
    );
    expect([...new Set(anywhere)].sort()).toEqual([
      'dynamodb:ListStreams',
      'ecr:GetAuthorizationToken',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
  });

  it('THEN ECR access is scoped to the watched repositories of this account and region', () => {
    const ecr = statementsOf(full.template, 'EvaluateRole').find((s) =>
      JSON.stringify(s.Action).includes('ecr:DescribeImages'),
    ) as Json;
    expect(JSON.stringify(ecr.Resource)).toBe(
      JSON.stringify(
        ['prod/api', 'team/*'].map((name) => ({
          'Fn::Join': [
            '',
            [
              'arn:',
              ref('AWS::Partition'),
              ':ecr:',
              ref('AWS::Region'),
              ':',
              ref('AWS::AccountId'),
              `:repository/${name}`,
            ],
          ],
        })),
      ),
    );
  });
});
