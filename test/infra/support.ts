import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RegistryWatcherStack, type RegistryWatcherStackProps } from '../../infra/stack';

const ROOT = join(__dirname, '..', '..');

/** The context `cdk synth` sees (cdk.json: feature flags), so tests build the same app. */
export function cdkJsonContext(): Record<string, unknown> {
  return (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: object })
    .context as Record<string, unknown>;
}

/**
 * An app as `cdk synth` builds it, minus the slow parts unit tests do not need: bundling
 * (the `aws:cdk:bundling-stacks` context: no stack bundles) and the built-in CloudFormation
 * validation. The bundles test and `npm run synth` keep both.
 */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context },
    builtinCloudFormationValidation: false,
  });
}

export function synthWatcher(props: RegistryWatcherStackProps = {}) {
  const app = testApp();
  const stack = new RegistryWatcherStack(app, 'Watcher', props);
  return { app, stack, template: Template.fromStack(stack) };
}

/** The Slack webhook secret of {@link synthFull}'s watcher. */
export const SLACK_SECRET =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack/webhook-AbCdEf';

/** The watcher with every optional part on: Slack, e-mail, watched repositories. */
export function synthFull() {
  return synthWatcher({
    watcher: {
      repositories: ['prod/api', 'team/*'],
      slackWebhookSecret: SLACK_SECRET,
      alarmEmail: 'ops@example.com',
    },
  });
}

/** Runs cdk-nag's AwsSolutions pack: every finding that is not acknowledged, `rule at path`. */
export function nagFindings(app: App): string[] {
  const report = new AwsSolutionsChecks(app).validateScope(app);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
  );
}

type Json = Record<string, unknown>;

/** Resources of one type, by logical id. */
export function resourcesOf(template: Template, type: string): [string, Json][] {
  return Object.entries(template.findResources(type)) as [string, Json][];
}

/** Logical id of the only function whose id contains `name`. */
export function functionId(template: Template, name: string): string {
  const found = resourcesOf(template, 'AWS::Lambda::Function').filter(([id]) => id.includes(name));
  if (found.length !== 1) throw new Error(`expected one function ${name}, found ${found.length}`);
  return (found[0] as [string, Json])[0];
}

/** Logical id of the first queue whose id contains `part`. */
export const queueId = (template: Template, part: string) =>
  (resourcesOf(template, 'AWS::SQS::Queue').find(([id]) => id.includes(part)) as [string, Json])[0];

export const ref = (id: string) => ({ Ref: id });
export const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** Properties of the only resource of `type` whose logical id contains `logicalIdPart`. */
export function propsOf(template: Template, type: string, logicalIdPart: string): Json {
  const found = resourcesOf(template, type).filter(([id]) => id.includes(logicalIdPart));
  const [only] = found;
  if (!only || found.length !== 1) {
    throw new Error(
      `expected one ${type} with "${logicalIdPart}" in its id, found ${found.length}`,
    );
  }
  return (only[1] as { Properties: Json }).Properties;
}

/** Every IAM statement of the policies attached to a role whose logical id contains `role`. */
export function statementsOf(template: Template, role: string): Json[] {
  return resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, r]) =>
      JSON.stringify((r as { Properties: { Roles: unknown } }).Properties.Roles).includes(role),
    )
    .flatMap(
      ([, r]) =>
        (r as { Properties: { PolicyDocument: { Statement: Json[] } } }).Properties.PolicyDocument
          .Statement,
    );
}

/** Actions granted to a role, flattened and sorted. */
export function actionsOf(template: Template, role: string): string[] {
  return statementsOf(template, role)
    .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]) as string[])
    .sort();
}

/**
 * EventBridge's matching for the subset of the pattern language our rules use: exact
 * values, `prefix`, `wildcard` (`*` = any characters), nested objects, and arrays in the
 * event (any element matching is a match). Enough to check real events against our rules.
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (Array.isArray(pattern)) {
    const values = Array.isArray(event) ? event : [event];
    return values.some((value) => pattern.some((rule) => matchesValue(rule, value)));
  }
  if (pattern && typeof pattern === 'object') {
    const values = Array.isArray(event) ? event : [event];
    return values.some(
      (value) =>
        value !== null &&
        typeof value === 'object' &&
        Object.entries(pattern).every(([key, sub]) => matchesPattern(sub, (value as Json)[key])),
    );
  }
  throw new Error(`unsupported pattern ${JSON.stringify(pattern)}`);
}

function matchesValue(rule: unknown, value: unknown): boolean {
  if (typeof rule !== 'object' || rule === null) return rule === value;
  if (typeof value !== 'string') return false;
  const { prefix, wildcard } = rule as { prefix?: string; wildcard?: string };
  if (prefix !== undefined) return value.startsWith(prefix);
  if (wildcard !== undefined) {
    const source = wildcard.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
    return new RegExp(`^${source.join('.*')}$`).test(value);
  }
  throw new Error(`unsupported matcher ${JSON.stringify(rule)}`);
}
