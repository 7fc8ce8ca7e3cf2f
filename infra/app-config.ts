import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import * as z from 'zod';
import { isDuration, parseDuration } from '../shared/domain/duration';
import { ConfigError } from '../shared/domain/errors';

/** The context key holding the deployment settings (cdk.json, cdk.context.json or `-c`). */
export const CONTEXT_KEY = 'registry-watcher';

/**
 * Deployment settings as cdk.json holds them (plain JSON). `-c registry-watcher:KEY=VALUE`
 * overrides one; values given on the command line are strings, so lists are
 * comma-separated and numbers and booleans are parsed.
 */
const list = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : v,
  z.array(z.string()),
);
const bool = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
const int = z.preprocess(
  (v) => (typeof v === 'string' && v !== '' ? Number(v) : v),
  z.number().int(),
);

const settingsSchema = z.strictObject({
  stackName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'letters, digits and "-"')
    .default('RegistryWatcher'),
  account: z
    .string()
    .regex(/^\d{12}$/, 'a 12-digit AWS account id')
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1')
    .optional(),
  repositories: list.optional(),
  scanningMode: z.enum(['basic', 'enhanced']).optional(),
  policyFile: z.string().min(1).optional(),
  rescanSchedule: z.string().optional(),
  rescanTimeZone: z.string().optional(),
  slackWebhookSecret: z.string().optional(),
  alarmEmail: z.string().optional(),
  allowlistValidity: z
    .string()
    .refine(isDuration, 'a duration such as 24h or 90m')
    .transform((v) => Duration.millis(parseDuration(v)))
    .optional(),
  allowlistNotAdmitted: int.optional(),
  allowlistKeyArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:kms:/, 'a KMS key ARN')
    .optional(),
  attestationKeyArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:kms:/, 'a KMS key ARN')
    .optional(),
  keyAdministratorArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\//, 'an IAM role or user ARN')
    .optional(),
  removalPolicy: z.enum(['retain', 'destroy', 'snapshot']).optional(),
  deletionProtection: bool.optional(),
  evaluateMaxConcurrency: int.optional(),
  logRetentionDays: int.optional(),
  accessLogsBucket: z.string().min(3).optional(),
  attestations: bool.optional(),
  trustedRoot: z.string().optional(),
  knownExploitedCatalog: z.string().optional(),
  knownExploitedRefresh: z
    .string()
    .refine(isDuration, 'a duration such as 1h or 30m')
    .transform((v) => Duration.millis(parseDuration(v)))
    .optional(),
});
export type AppSettings = z.output<typeof settingsSchema>;

/** Reads the settings from the app's context; names every wrong key at once. */
export function readAppSettings(node: Node): AppSettings {
  const base: unknown = node.tryGetContext(CONTEXT_KEY) ?? {};
  if (typeof base !== 'object' || base === null || Array.isArray(base)) {
    throw new ConfigError(`context "${CONTEXT_KEY}" must be an object of settings`);
  }
  const merged: Record<string, unknown> = { ...base };
  // `-c registry-watcher:KEY=VALUE` overrides; an unknown KEY is reported like one in cdk.json.
  for (const [name, value] of Object.entries(node.getAllContext())) {
    if (name.startsWith(`${CONTEXT_KEY}:`)) merged[name.slice(CONTEXT_KEY.length + 1)] = value;
  }
  const parsed = settingsSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `  - ${CONTEXT_KEY}.${i.path.join('.') || '(settings)'}: ${i.message}`,
    );
    throw new ConfigError(`invalid deployment settings:\n${problems.join('\n')}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

export function removalPolicyOf(value: AppSettings['removalPolicy']): RemovalPolicy | undefined {
  if (value === undefined) return undefined;
  return {
    retain: RemovalPolicy.RETAIN,
    destroy: RemovalPolicy.DESTROY,
    snapshot: RemovalPolicy.SNAPSHOT,
  }[value];
}
