import {
  arnOf,
  functionId,
  propsOf,
  queueId,
  ref,
  resourcesOf,
  statementsOf,
  synthFull,
  synthWatcher,
} from './support';

// The Evaluation construct (infra/evaluation.ts, infra/event-patterns.ts): rules, queue, function.
type Json = Record<string, unknown>;

// GIVEN the watcher with every optional part on (Slack, e-mail, watched repositories).
const full = synthFull();
// GIVEN the watcher with its defaults only.
const bare = synthWatcher();

describe('EventBridge rules → evaluate queue', () => {
  const rules = () => resourcesOf(full.template, 'AWS::Events::Rule');

  it('THEN the four rules of DESIGN §3 match the watched repositories', () => {
    const patterns = rules().map(([, r]) => (r as { Properties: Json }).Properties.EventPattern);
    expect(patterns).toEqual(
      expect.arrayContaining([
        {
          source: ['aws.ecr'],
          'detail-type': ['ECR Image Action'],
          detail: {
            'action-type': ['PUSH', 'DELETE'],
            result: ['SUCCESS'],
            'repository-name': ['prod/api', { prefix: 'team/' }],
          },
        },
        {
          source: ['aws.ecr'],
          'detail-type': ['ECR Image Scan'],
          detail: {
            'scan-status': ['COMPLETE'],
            'repository-name': ['prod/api', { prefix: 'team/' }],
          },
        },
        {
          source: ['aws.inspector2'],
          'detail-type': ['Inspector2 Scan'],
          detail: {
            'repository-name': [
              { wildcard: '*:repository/prod/api' },
              { wildcard: '*:repository/team/*' },
            ],
          },
        },
        {
          source: ['aws.inspector2'],
          'detail-type': ['Inspector2 Finding'],
          detail: {
            resources: {
              type: ['AWS_ECR_CONTAINER_IMAGE'],
              details: {
                awsEcrContainerImage: { repositoryName: ['prod/api', { prefix: 'team/' }] },
              },
            },
          },
        },
      ]),
    );
    expect(patterns).toHaveLength(4);
  });

  it('THEN every rule targets the evaluate queue, retries for 24 h, then the delivery DLQ', () => {
    const queue = queueId(full.template, 'EvaluationQueue');
    const dlq = queueId(full.template, 'DeliveryDlq');
    for (const [, rule] of rules()) {
      expect((rule as { Properties: Json }).Properties.Targets).toEqual([
        expect.objectContaining({
          Arn: arnOf(queue),
          DeadLetterConfig: { Arn: arnOf(dlq) },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        }),
      ]);
    }
  });

  it('WHEN no repository is listed THEN the rules do not filter by repository', () => {
    const text = JSON.stringify(resourcesOf(bare.template, 'AWS::Events::Rule'));
    expect(text).not.toContain('repository-name');
    expect(text).not.toContain('repositoryName');
  });
});

describe('evaluate queue and function', () => {
  const evaluate = functionId(full.template, 'Evaluate');
  const queue = queueId(full.template, 'EvaluationQueue');

  it('THEN the queue is encrypted, redrives to its DLQ and outlasts 6 function timeouts', () => {
    const fn = propsOf(full.template, 'AWS::Lambda::Function', evaluate);
    const q = propsOf(full.template, 'AWS::SQS::Queue', queue);
    expect(q).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: arnOf(queueId(full.template, 'EvaluationDlq')),
        maxReceiveCount: 5,
      },
    });
    expect(q.VisibilityTimeout).toBeGreaterThanOrEqual(6 * (fn.Timeout as number));
  });

  it('THEN EventBridge may send to it only from our rules, and only over TLS', () => {
    const policy = resourcesOf(full.template, 'AWS::SQS::QueuePolicy').find(([, r]) =>
      JSON.stringify(r).includes(`"${queue}"`),
    ) as [string, Json];
    const statements = (policy[1] as { Properties: { PolicyDocument: { Statement: Json[] } } })
      .Properties.PolicyDocument.Statement;
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: 'Deny',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          Condition: { ArnEquals: { 'aws:SourceArn': expect.anything() } },
        }),
      ]),
    );
  });

  it('THEN the event source reports partial failures and caps concurrency', () => {
    full.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(evaluate),
      EventSourceArn: arnOf(queue),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('THEN it reads, writes and batch-reads image items only (IMG#), never other partitions', () => {
    const dynamo = statementsOf(full.template, 'EvaluateRole').filter((s) =>
      JSON.stringify(s.Action).includes('dynamodb:'),
    );
    expect(dynamo).toEqual([
      expect.objectContaining({
        Action: [
          'dynamodb:BatchGetItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
        ],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['IMG#*'] } },
      }),
    ]);
  });

  it('WHEN evaluateMaxConcurrency is 10 THEN the event source allows 10', () => {
    const { template } = synthWatcher({ watcher: { evaluateMaxConcurrency: 10 } });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });
});
