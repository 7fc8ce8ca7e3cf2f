import type { Template } from 'aws-cdk-lib/assertions';
import { resourcesOf } from './support';

type Json = Record<string, unknown>;

/** One delivery step of the stack, as the template configures it. */
export interface Hop {
  from: string;
  to: string;
  /** The configured retry count; undefined where the service keeps its own policy (SNS). */
  retries: number | undefined;
  /** Where what could not be delivered is kept. */
  kept: string | undefined;
}

const HASH = /[0-9A-F]{8}$/;
/** A logical id without the stack's `Watcher` prefix and the path hash: `EvaluationQueue`. */
export const shortName = (logicalId: string) => logicalId.replace(HASH, '').replace(/^Watcher/, '');

function idOf(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Json;
  if (typeof v.Ref === 'string') return v.Ref;
  const att = v['Fn::GetAtt'];
  return Array.isArray(att) && typeof att[0] === 'string' ? att[0] : undefined;
}
const nameOf = (value: unknown) => {
  const id = idOf(value);
  return id === undefined ? undefined : shortName(id);
};
const propsOf = (resource: Json) => (resource.Properties ?? {}) as Json;

/** Every hop of the template: rule and schedule targets, event source mappings, async invocations, SNS subscriptions. */
export function hopsOf(template: Template): Hop[] {
  const hops: Hop[] = [];
  const queues = new Map(
    resourcesOf(template, 'AWS::SQS::Queue').map(([id, r]) => [id, propsOf(r)]),
  );
  const functions = new Map(
    resourcesOf(template, 'AWS::Lambda::Function').map(([id, r]) => [id, propsOf(r)]),
  );
  const target = (from: string, t: Json) =>
    hops.push({
      from,
      to: nameOf(t.Arn) ?? '?',
      retries: (t.RetryPolicy as Json | undefined)?.MaximumRetryAttempts as number | undefined,
      kept: nameOf((t.DeadLetterConfig as Json | undefined)?.Arn),
    });
  for (const [id, rule] of resourcesOf(template, 'AWS::Events::Rule')) {
    for (const t of (propsOf(rule).Targets ?? []) as Json[]) target(shortName(id), t);
  }
  for (const [id, schedule] of resourcesOf(template, 'AWS::Scheduler::Schedule')) {
    target(shortName(id), propsOf(schedule).Target as Json);
  }
  for (const [, mapping] of resourcesOf(template, 'AWS::Lambda::EventSourceMapping')) {
    const p = propsOf(mapping);
    const sourceId = idOf(p.EventSourceArn) ?? '?';
    const redrive = queues.get(sourceId)?.RedrivePolicy as Json | undefined;
    const onFailure = ((p.DestinationConfig as Json | undefined)?.OnFailure as Json | undefined)
      ?.Destination;
    hops.push({
      from: shortName(sourceId),
      to: nameOf(p.FunctionName) ?? '?',
      retries: redrive
        ? (redrive.maxReceiveCount as number) - 1
        : (p.MaximumRetryAttempts as number | undefined),
      kept: nameOf(redrive?.deadLetterTargetArn) ?? nameOf(onFailure),
    });
  }
  for (const [, config] of resourcesOf(template, 'AWS::Lambda::EventInvokeConfig')) {
    const p = propsOf(config);
    const fnId = idOf(p.FunctionName) ?? '?';
    const onFailure = ((p.DestinationConfig as Json | undefined)?.OnFailure as Json | undefined)
      ?.Destination;
    const dlq = (functions.get(fnId)?.DeadLetterConfig as Json | undefined)?.TargetArn;
    hops.push({
      from: 'async',
      to: shortName(fnId),
      retries: p.MaximumRetryAttempts as number | undefined,
      kept: nameOf(onFailure) ?? nameOf(dlq),
    });
  }
  for (const [, subscription] of resourcesOf(template, 'AWS::SNS::Subscription')) {
    const p = propsOf(subscription);
    if (p.Protocol !== 'lambda' && p.Protocol !== 'sqs') continue;
    hops.push({
      from: nameOf(p.TopicArn) ?? '?',
      to: nameOf(p.Endpoint) ?? '?',
      retries: undefined,
      kept: nameOf((p.RedrivePolicy as Json | undefined)?.deadLetterTargetArn),
    });
  }
  return hops;
}
