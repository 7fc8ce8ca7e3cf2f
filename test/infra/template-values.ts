/**
 * CloudFormation values as AWS would see them, for the permissions evaluator: every
 * intrinsic the template uses resolved to a string, each resource named by its logical id
 * in a fixed account and region. An intrinsic or attribute it does not know throws.
 */

type Json = Record<string, unknown>;

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

/** What a resource ARN or ref resolves to, per resource type. */
export function physical(type: string, id: string, attribute: string): string {
  const lower = id.toLowerCase();
  const arn = (service: string, rest: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${rest}`;
  const table: Record<string, Record<string, string>> = {
    'AWS::IAM::Role': { Ref: id, Arn: `arn:aws:iam::${ACCOUNT}:role/${id}` },
    'AWS::KMS::Key': { Ref: id, Arn: arn('kms', `key/${id}`) },
    'AWS::SNS::Topic': { Ref: arn('sns', id), TopicArn: arn('sns', id), TopicName: id },
    'AWS::SQS::Queue': {
      Ref: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}`,
      Arn: arn('sqs', id),
      QueueName: id,
      QueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}`,
    },
    'AWS::S3::Bucket': { Ref: lower, Arn: `arn:aws:s3:::${lower}` },
    'AWS::DynamoDB::Table': {
      Ref: id,
      Arn: arn('dynamodb', `table/${id}`),
      StreamArn: arn('dynamodb', `table/${id}/stream/2026-01-01T00:00:00.000`),
    },
    'AWS::Lambda::Function': { Ref: id, Arn: arn('lambda', `function:${id}`) },
    'AWS::Logs::LogGroup': { Ref: id, Arn: arn('logs', `log-group:${id}:*`) },
    'AWS::Events::Rule': { Ref: id, Arn: arn('events', `rule/${id}`) },
    'AWS::Scheduler::Schedule': { Ref: id, Arn: arn('scheduler', `schedule/default/${id}`) },
  };
  const value = table[type]?.[attribute];
  if (value === undefined) throw new Error(`cannot resolve ${attribute} of ${type} ${id}`);
  return value;
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': REGION,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'Watcher',
};

/** Resolves CloudFormation intrinsics to the strings AWS would see. */
export class Resolver {
  constructor(private readonly resources: Record<string, { Type: string }>) {}

  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Json);
    const [key, arg] = entries[0] ?? [];
    if (entries.length !== 1 || (!key?.startsWith('Fn::') && key !== 'Ref')) {
      return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
    }
    switch (key) {
      case 'Ref':
        return this.ref(arg as string, 'Ref');
      case 'Fn::GetAtt': {
        const [id, attribute] = arg as [string, string];
        return this.ref(id, attribute);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        return parts.map((p) => this.text(p)).join(sep);
      }
      case 'Fn::Sub': {
        const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Json]);
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
          if (name in vars) return this.text(vars[name]);
          const [id, attribute] = name.split('.');
          return this.ref(id as string, attribute ?? 'Ref');
        });
      }
      case 'Fn::Split': {
        const [sep, source] = arg as [string, unknown];
        return this.text(source).split(sep);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [number | string, unknown];
        return (this.resolve(list) as unknown[])[Number(index)];
      }
      default:
        throw new Error(`unsupported intrinsic ${key}`);
    }
  }

  text(value: unknown): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== 'string') throw new Error(`not a string: ${JSON.stringify(value)}`);
    return resolved;
  }

  private ref(id: string, attribute: string): string {
    const pseudo = PSEUDO[id];
    if (pseudo !== undefined) return pseudo;
    const resource = this.resources[id];
    if (!resource) throw new Error(`no resource ${id}`);
    return physical(resource.Type, id, attribute);
  }
}
