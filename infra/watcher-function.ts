import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AssetHashType, type Duration, type RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type * as z from 'zod';
import { ConfigError } from '../shared/domain/errors';
import {
  type BundledFile,
  ENTRY_FILE,
  FunctionBundling,
  type FunctionSource,
} from './function-bundling';

/** The repository root: entries are functions/<name>/handler.ts below it. */
const PROJECT_ROOT = resolve(__dirname, '..');

/**
 * Where the package keeps the functions it ships, bundled when it was packed: `lambda/<name>/`
 * beside the compiled `infra/` (scripts/build-package.ts).
 */
export const PREBUNDLED_FOLDER = 'lambda';

/** Where Lambda unpacks a zip function: files copied into the bundle are found here. */
export const TASK_ROOT = '/var/task';

export const FUNCTION_NAMES = [
  'evaluate',
  'changes',
  'allowlist',
  'notify',
  'rescan-planner',
  'attestor',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** Variables the Lambda runtime sets itself (reserved: a function may not set them). */
const RUNTIME_VARIABLES = ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_LAMBDA_FUNCTION_NAME'] as const;

/** A function's environment typed by the zod schema its handler validates it with. */
export type EnvironmentOf<S extends z.ZodObject> = Omit<
  { [K in keyof z.input<S>]: string },
  (typeof RUNTIME_VARIABLES)[number]
>;

/** Any watcher function, whatever its environment schema (the schema only types its props). */
export type AnyWatcherFunction = WatcherFunction<z.ZodObject>;

export interface WatcherFunctionProps<S extends z.ZodObject> {
  /** Folder below functions/ holding handler.ts. */
  readonly name: FunctionName;
  readonly description: string;
  /** The zod schema the handler reads its environment with: checked at synth. */
  readonly environmentSchema: S;
  readonly environment: EnvironmentOf<S>;
  readonly timeout: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** @default no reservation */
  readonly reservedConcurrentExecutions?: number;
  /** Dead-letter queue of asynchronous invocations. @default none */
  readonly deadLetterQueue?: sqs.IQueue;
  /** Retries of asynchronous invocations. @default 2 (Lambda's default) */
  readonly retryAttempts?: number;
  /** Oldest asynchronous event still processed. @default 6 hours (Lambda's default) */
  readonly maxEventAge?: Duration;
  /** Where an asynchronous invocation goes when Lambda's async retries run out. */
  readonly onFailure?: lambda.IDestination;
  /**
   * Why the default policy needs "*" besides X-Ray, when an event source adds such an
   * action (e.g. dynamodb:ListStreams); it joins the acknowledgement.
   */
  readonly alsoOnAnyResource?: string;
  /** Files beside the handler in the bundle: file name → absolute source path, or the text. */
  readonly files?: Record<string, BundledFile>;
}

/**
 * The one way this project builds a Lambda: nodejs22.x on ARM64, an ESM bundle (minified,
 * source maps beside each file, decoded only when a stack trace is formatted
 * (shared/source-mapped-stacks.ts, not --enable-source-maps), AWS SDK v3 bundled rather
 * than the runtime's copy, code only reached through `import()` split into chunks loaded
 * on demand), its own log group
 * with retention, X-Ray tracing, JSON logs, and a role that starts with nothing but
 * writing to that log group. Every other permission is added by the caller, statement by
 * statement. Wildcard resources go into a named policy of their own with the nag
 * acknowledgement beside it; only X-Ray's (which has no resource-level permissions) lands
 * in the default policy, acknowledged here.
 */
export class WatcherFunction<S extends z.ZodObject> extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: WatcherFunctionProps<S>) {
    super(scope, id);
    checkEnvironment(props.name, props.environmentSchema, props.environment);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `registry-watcher ${props.name} function`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    const { folder, source } = functionSource(props.name);
    this.function = new lambda.Function(this, 'Function', {
      code: lambda.Code.fromAsset(folder, {
        assetHashType: AssetHashType.OUTPUT,
        bundling: new FunctionBundling(source, props.files),
      }),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: lambda.Tracing.ACTIVE,
      ...(props.reservedConcurrentExecutions !== undefined && {
        reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      }),
      ...(props.deadLetterQueue && { deadLetterQueue: props.deadLetterQueue }),
      ...(props.retryAttempts !== undefined && { retryAttempts: props.retryAttempts }),
      ...(props.maxEventAge && { maxEventAge: props.maxEventAge }),
      ...(props.onFailure && { onFailure: props.onFailure }),
      // No --enable-source-maps: it parses every loaded file's map at load (10-20 ms of each
      // cold start); shared/source-mapped-stacks.ts maps a trace when one is formatted.
      environment: props.environment as Record<string, string>,
    });

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: [
        'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so their resource is "*".',
        props.alsoOnAnyResource,
      ]
        .filter(Boolean)
        .join(' '),
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose: the project builds and tests for Node 22 (Node 20 locally); a newer runtime is adopted deliberately, not by a linter.',
    });
  }

  /** Adds one statement to the function's role. */
  allow(actions: string[], resources: string[], conditions?: Record<string, unknown>): this {
    if (resources.includes('*')) {
      // A "*" here would hide behind the X-Ray acknowledgement of the default policy.
      throw new ConfigError(
        `${actions.join(', ')} on "*": use anyResourcePolicy (infra/core.ts) and say why`,
      );
    }
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions, resources, ...(conditions && { conditions }) }),
    );
    return this;
  }
}

/**
 * A checkout bundles the handler's sources (never a stale prebundle); the installed package,
 * which ships no sources, copies its prebundled folder.
 */
function functionSource(name: FunctionName): { folder: string; source: FunctionSource } {
  const folder = join(PROJECT_ROOT, 'functions', name);
  const handler = join(folder, 'handler.ts');
  if (existsSync(handler)) return { folder, source: { handler } };
  const prebundled = join(PROJECT_ROOT, PREBUNDLED_FOLDER, name);
  if (!existsSync(join(prebundled, ENTRY_FILE))) {
    throw new ConfigError(
      `the ${name} function has neither sources (${handler}) nor a prebundled ${join(prebundled, ENTRY_FILE)}: the package is incomplete, reinstall it`,
    );
  }
  return { folder: prebundled, source: { prebundled } };
}

/**
 * Wires exactly what the handler reads: every variable set is one its schema knows, every
 * variable it requires is set, and every value known at synth passes its schema.
 */
export function checkEnvironment(
  name: string,
  schema: z.ZodObject,
  environment: Record<string, string>,
): void {
  const shape = schema.shape as Record<string, z.ZodType>;
  const problems: string[] = [];
  for (const [key, value] of Object.entries(environment)) {
    const field = shape[key];
    if (!field) {
      problems.push(`${key} is not read by the handler`);
      continue;
    }
    if (Token.isUnresolved(value)) continue;
    const parsed = field.safeParse(value);
    if (!parsed.success) problems.push(`${key}="${value}": ${parsed.error.issues[0]?.message}`);
  }
  for (const [key, field] of Object.entries(shape)) {
    if ((RUNTIME_VARIABLES as readonly string[]).includes(key)) {
      if (key in environment) problems.push(`${key} is reserved: the Lambda runtime sets it`);
      continue;
    }
    if (!(key in environment) && !field.safeParse(undefined).success) {
      problems.push(`${key} is required by the handler but not set`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`environment of the ${name} function: ${problems.join('; ')}`);
  }
}
