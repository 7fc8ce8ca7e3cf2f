/**
 * A small evaluator of AWS authorization over a synthesized template, for the questions
 * "who can do X to Y": identity policies of the stack's roles, resource policies (key,
 * topic, queue, bucket), wildcards in Action/NotAction/Resource/NotResource, principals,
 * and the condition operators the stack uses. Same-account rules: an explicit Deny
 * anywhere wins; a KMS key needs its key policy to allow (directly, or through the account
 * principal plus IAM); other resources allow through IAM or their resource policy.
 * Anything it does not understand throws, so a question is never answered by omission.
 */

import { ACCOUNT, physical, REGION, Resolver } from './template-values';

export { ACCOUNT, REGION } from './template-values';

type Json = Record<string, unknown>;
type Statement = Json & { Effect: 'Allow' | 'Deny' };
export type Context = Record<string, string | string[]>;

const ROOT = `arn:aws:iam::${ACCOUNT}:root`;

export interface Principal {
  /** A short name for answers: the role's function, or what the principal stands for. */
  name: string;
  /** IAM ARN, or `service:<host>` for a service principal. */
  arn: string;
  /** Its identity policy statements (none for a service). */
  identity: Statement[];
}

/** IAM wildcard matching: `*` any run of characters, `?` one. */
export function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

const list = (v: unknown): string[] => (v === undefined ? [] : ([v].flat() as string[]));

function actionMatches(s: Statement, action: string): boolean {
  if (s.NotAction !== undefined) return !list(s.NotAction).some((p) => wildcard(p, action, true));
  return list(s.Action).some((p) => wildcard(p, action, true));
}

function resourceMatches(s: Statement, resource: string, keyPolicy: boolean): boolean {
  // A role's trust policy names no resource: it is about the role itself.
  if (keyPolicy && s.Resource === undefined && s.NotResource === undefined) return true;
  // In a key policy "*" is the key itself; nothing else is ever asked of a key policy.
  const match = (p: string) => (keyPolicy ? p === '*' || p === resource : wildcard(p, resource));
  if (s.NotResource !== undefined) return !list(s.NotResource).some(match);
  return list(s.Resource).some(match);
}

/** Whether a resource policy statement names the principal: 'direct', 'account' (delegates to IAM), or no. */
function principalMatch(s: Statement, who: Principal): 'direct' | 'account' | undefined {
  if (s.NotPrincipal !== undefined) throw new Error('NotPrincipal is not modelled');
  const p = s.Principal;
  if (p === '*') return 'direct';
  const { AWS, Service, ...other } = (p ?? {}) as Json;
  if (Object.keys(other).length > 0) throw new Error(`principal ${JSON.stringify(p)}`);
  if (who.arn.startsWith('service:')) {
    if (list(AWS).includes('*')) return 'direct';
    return list(Service).includes(who.arn.slice(8)) ? 'direct' : undefined;
  }
  const arns = list(AWS);
  if (arns.includes('*') || arns.includes(who.arn)) return 'direct';
  return arns.includes(ROOT) || arns.includes(ACCOUNT) ? 'account' : undefined;
}

const STRING_OPERATORS: Record<string, (pattern: string, value: string) => boolean> = {
  StringEquals: (p, v) => p === v,
  StringLike: (p, v) => wildcard(p, v),
  ArnEquals: (p, v) => p === v,
  ArnLike: (p, v) => wildcard(p, v),
  Bool: (p, v) => String(p).toLowerCase() === v.toLowerCase(),
  NumericLessThan: (p, v) => Number(v) < Number(p),
};

function conditionHolds(operator: string, key: string, wanted: unknown, context: Context): boolean {
  const set = /^(ForAllValues|ForAnyValue):/.exec(operator)?.[1];
  let base = set ? operator.slice(set.length + 1) : operator;
  const ifExists = base.endsWith('IfExists');
  if (ifExists) base = base.slice(0, -'IfExists'.length);
  const entry = Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase());
  if (base === 'Null' && !set) return String(wanted).toLowerCase() === String(entry === undefined);
  const negated = /^(String|Arn)Not/.test(base);
  const test = STRING_OPERATORS[base.replace('Not', '')];
  if (!test) throw new Error(`condition operator ${operator} is not modelled`);
  const values = entry ? list(entry[1]) : [];
  const patterns = list(wanted).map(String);
  const one = (v: string) => patterns.some((p) => test(p, v)) !== negated;
  if (set === 'ForAllValues') return values.every(one);
  if (set === 'ForAnyValue') return values.some(one);
  if (values.length === 0) return ifExists || negated;
  return values.some(one);
}

function conditionsHold(s: Statement, context: Context): boolean {
  return Object.entries((s.Condition ?? {}) as Record<string, Json>).every(([operator, block]) =>
    Object.entries(block).every(([key, wanted]) => conditionHolds(operator, key, wanted, context)),
  );
}

export interface Resource {
  arn: string;
  /** The resource policy's statements, if it has one (a role's: its trust policy). */
  policy?: Statement[];
  /** `kms` and `role`: the resource policy must allow, directly or through the account and IAM. */
  kind: 'kms' | 'role' | 'other';
}

/** The decision for one request: explicit deny, allow, or the implicit deny. */
export function decide(
  who: Principal,
  action: string,
  resource: Resource,
  context: Context = {},
): 'allow' | 'deny' {
  const ctx: Context = {
    'aws:SecureTransport': 'true',
    's3:TlsVersion': '1.3',
    ...(who.arn.startsWith('service:')
      ? {
          'aws:SourceAccount': ACCOUNT,
          'aws:SourceArn': `arn:aws:sns:${REGION}:${ACCOUNT}:not-ours`,
        }
      : { 'aws:PrincipalArn': who.arn, 'aws:PrincipalAccount': ACCOUNT }),
    ...context,
  };
  const keyPolicy = resource.kind !== 'other';
  const applies = (s: Statement, isResourcePolicy: boolean) =>
    actionMatches(s, action) &&
    resourceMatches(s, resource.arn, isResourcePolicy && keyPolicy) &&
    conditionsHold(s, ctx);
  const identity = who.identity.filter((s) => applies(s, false));
  const onResource = (resource.policy ?? [])
    .map((s) => ({ s, match: principalMatch(s, who) }))
    .filter(({ s, match }) => match && applies(s, true));
  if ([...identity.map((s) => s.Effect), ...onResource.map(({ s }) => s.Effect)].includes('Deny')) {
    return 'deny';
  }
  const iamAllows = identity.some((s) => s.Effect === 'Allow');
  const direct = onResource.some(({ s, match }) => s.Effect === 'Allow' && match === 'direct');
  const delegated = onResource.some(({ s, match }) => s.Effect === 'Allow' && match === 'account');
  if (keyPolicy) return direct || (delegated && iamAllows) ? 'allow' : 'deny';
  return direct || iamAllows ? 'allow' : 'deny';
}

/** The template read for questions: its roles with their statements, its resource policies. */
export class Permissions {
  readonly resolver: Resolver;
  private readonly resources: Record<string, { Type: string; Properties?: Json }>;

  constructor(template: Json) {
    this.resources = template.Resources as typeof this.resources;
    this.resolver = new Resolver(this.resources);
  }

  private of(type: string): [string, Json][] {
    return Object.entries(this.resources)
      .filter(([, r]) => r.Type === type)
      .map(([id, r]) => [id, (this.resolver.resolve(r.Properties ?? {}) as Json) ?? {}]);
  }

  /** Every role of the stack, with its inline and attached statements. */
  roles(): Principal[] {
    const policies = this.of('AWS::IAM::Policy');
    return this.of('AWS::IAM::Role').map(([id, props]) => {
      const arn = physical('AWS::IAM::Role', id, 'Arn');
      if (props.ManagedPolicyArns) throw new Error(`${id} has managed policies: not modelled`);
      const inline = list(props.Policies as unknown).flatMap(
        (p) =>
          (p as unknown as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement,
      );
      const attached = policies
        .filter(([, p]) => list(p.Roles).includes(id))
        .flatMap(([, p]) => (p.PolicyDocument as { Statement: Statement[] }).Statement);
      return { name: roleName(id), arn, identity: [...inline, ...attached] };
    });
  }

  /** Principals named in resource policies that are not roles of the stack (e.g. the key administrator). */
  namedOutsiders(): Principal[] {
    const named = new Set<string>();
    for (const doc of this.resourcePolicies()) {
      for (const s of doc) {
        for (const arn of list(((s.Principal ?? {}) as Json).AWS)) named.add(arn);
      }
    }
    const ours = new Set(this.roles().map((r) => r.arn));
    return [...named]
      .filter((arn) => arn !== '*' && arn !== ROOT && !ours.has(arn))
      .map((arn) => administrator(arn, arn.replace(/^.*:role\//, 'role ')));
  }

  private resourcePolicies(): Statement[][] {
    return [
      ...this.of('AWS::KMS::Key').map(
        ([, p]) => (p.KeyPolicy as { Statement: Statement[] }).Statement,
      ),
      ...['AWS::SNS::TopicPolicy', 'AWS::SQS::QueuePolicy', 'AWS::S3::BucketPolicy'].flatMap((t) =>
        this.of(t).map(([, p]) => (p.PolicyDocument as { Statement: Statement[] }).Statement),
      ),
    ];
  }

  /** A resource of the stack by logical id part, with its resource policy. */
  resource(type: string, idPart: string): Resource & { id: string } {
    const found = Object.entries(this.resources).filter(
      ([id, r]) => r.Type === type && id.includes(idPart),
    );
    if (found.length !== 1)
      throw new Error(`expected one ${type} ${idPart}, found ${found.length}`);
    const [[id, r]] = found as [[string, { Type: string; Properties?: Json }]];
    const attribute = type === 'AWS::SNS::Topic' ? 'TopicArn' : 'Arn';
    const arn = physical(type, id, attribute);
    const props = this.resolver.resolve(r.Properties ?? {}) as Json;
    const policy =
      type === 'AWS::KMS::Key'
        ? (props.KeyPolicy as { Statement: Statement[] }).Statement
        : type === 'AWS::IAM::Role'
          ? (props.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement
          : this.policyFor(type, id, arn);
    const kind = type === 'AWS::KMS::Key' ? 'kms' : type === 'AWS::IAM::Role' ? 'role' : 'other';
    return { id, arn, kind, ...(policy && { policy }) };
  }

  private policyFor(type: string, id: string, arn: string): Statement[] | undefined {
    const where: Record<string, [string, string, string]> = {
      'AWS::SNS::Topic': ['AWS::SNS::TopicPolicy', 'Topics', arn],
      'AWS::SQS::Queue': [
        'AWS::SQS::QueuePolicy',
        'Queues',
        `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}`,
      ],
      'AWS::S3::Bucket': ['AWS::S3::BucketPolicy', 'Bucket', id.toLowerCase()],
    };
    const found = where[type];
    if (!found) return undefined;
    const [policyType, field, value] = found;
    return this.of(policyType)
      .filter(([, p]) => list(p[field]).includes(value))
      .flatMap(([, p]) => (p.PolicyDocument as { Statement: Statement[] }).Statement);
  }
}

/** A principal whose own IAM policy allows everything: the worst case of someone outside the stack. */
export function administrator(arn: string, name: string): Principal {
  return { name, arn, identity: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
}

/** Any other identity of the account, with an IAM policy that allows everything. */
export const ACCOUNT_ADMIN = administrator(
  `arn:aws:iam::${ACCOUNT}:role/SomeAdministratorOfTheAccount`,
  'any IAM administrator of the account',
);

/** `WatcherPublicationAllowlistRole4B5B736C` → `allowlist` (the function), else the logical id's middle. */
function roleName(id: string): string {
  const known: [RegExp, string][] = [
    [/EvaluateRole/, 'evaluate'],
    [/AttestorRole/, 'attestor'],
    [/AllowlistRole/, 'allowlist'],
    [/ChangesRole/, 'changes'],
    [/NotifyRole/, 'notify'],
    [/PlannerRole/, 'rescan-planner'],
    [/SchedulerRole/, 'scheduler'],
    [/ReplayRole/, 'replay'],
  ];
  return (
    known.find(([re]) => re.test(id))?.[1] ?? id.replace(/^Watcher/, '').replace(/[0-9A-F]{8}$/, '')
  );
}

/** Who, among `principals`, may do any of `actions` to `resource` in any of `contexts`. */
export function who(
  principals: Principal[],
  actions: string[],
  resource: Resource,
  contexts: Context[] = [{}],
): string[] {
  return principals
    .filter((p) => actions.some((a) => contexts.some((c) => decide(p, a, resource, c) === 'allow')))
    .map((p) => p.name)
    .sort();
}
