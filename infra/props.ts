import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as z from 'zod';
import { ConfigError } from '../shared/domain/errors';
import { assertRepositoryName } from '../shared/domain/image-ref';

/** Where the deployed policy lives unless `policyFile` says otherwise. */
export const DEFAULT_POLICY_FILE = resolve(__dirname, 'policy.yaml');

/** Props of the {@link RegistryWatcher} construct. Every prop is optional. */
export interface RegistryWatcherProps {
  /**
   * Repositories to watch: exact names (`prod/api`) or prefixes ending in `*` (`prod/*`
   * watches `prod/api` and `prod/team/web`). At most 50 entries.
   * @default [] every repository of the account and region
   */
  readonly repositories?: string[];
  /**
   * How the registry scans: `basic` (ECR scanning, StartImageScan) or `enhanced`
   * (Amazon Inspector; also grants `inspector2:ListFindings`/`ListCoverage`).
   * Set the same mode in the registry's scanning configuration.
   * @default 'basic'
   */
  readonly scanningMode?: 'basic' | 'enhanced';
  /**
   * The policy (DESIGN §4), parsed and validated at synth: a bad policy fails `cdk synth`
   * with file:line:column. It is bundled beside the evaluate, allowlist and rescan-planner
   * handlers as the validated document in canonical JSON (the functions parse no YAML).
   * @default infra/policy.yaml
   */
  readonly policyFile?: string;
  /**
   * When the nightly rescan runs: an EventBridge Scheduler `cron(...)` (6 fields) or
   * `rate(...)` expression, read in `rescanTimeZone`.
   * @default 'cron(0 2 * * ? *)' (02:00 every day)
   */
  readonly rescanSchedule?: string;
  /**
   * IANA time zone of `rescanSchedule` (daylight saving time is followed).
   * @default 'UTC'
   */
  readonly rescanTimeZone?: string;
  /**
   * Secrets Manager secret holding the Slack incoming-webhook URL: an ARN or a name. The
   * notify function gets read-only access to this one secret.
   * @default no Slack notifications (no notify function)
   */
  readonly slackWebhookSecret?: string;
  /**
   * E-mail address subscribed to the alarm topic (the subscription must be confirmed).
   * @default no e-mail subscription
   */
  readonly alarmEmail?: string;
  /**
   * Topic the alarms notify (alarm and OK).
   * @default a new topic encrypted with the watcher's data key
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * How long a published allowlist stays valid (`validUntil - generatedAt`); between 1 hour
   * and 7 days, whole minutes. The allowlist is re-signed every `min(1 h, validity / 4)`.
   * @default Duration.hours(24)
   */
  readonly allowlistValidity?: Duration;
  /**
   * How many of the newest not-admitted digests (FAIL, PENDING, ERROR, deleted, expired)
   * the allowlist names, so the webhook's denial says which applies (docs/allowlist.md).
   * Webhooks before 0.2 reject a document with that section: upgrade them first. 0..100,000.
   * @default 0 (no section)
   */
  readonly allowlistNotAdmitted?: number;
  /**
   * An existing asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY) that signs the allowlist.
   * Its key policy must let the allowlist role `kms:Sign` and `kms:GetPublicKey`, and no
   * other role sign (see docs/deploy.md). Never the attestation key.
   * @default a new key whose only signer is the allowlist function
   */
  readonly allowlistKey?: kms.IKey;
  /**
   * An existing asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY) that signs the verdict
   * attestations; its key policy must let the attestor role `kms:Sign` and
   * `kms:GetPublicKey`. Never the allowlist key.
   * @default a new key whose only signer is the attestor function
   */
  readonly attestationKey?: kms.IKey;
  /**
   * The principal the new signing keys' policies let administer them (policy, aliases,
   * tags, enable/disable, deletion; never sign, never grant). It must be the principal
   * CloudFormation creates the keys with: KMS refuses a key policy that locks its creator out.
   * @default the CloudFormation execution role of the CDK bootstrap
   */
  readonly keyAdministrator?: iam.IPrincipal;
  /**
   * What happens to the table, the allowlist bucket, the keys and the log groups when the
   * stack is deleted or they are replaced.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * DynamoDB deletion protection on the verdict table.
   * @default true, unless removalPolicy is DESTROY
   */
  readonly deletionProtection?: boolean;
  /**
   * Most concurrent evaluate invocations the SQS event source starts (2..1000). Each runs
   * up to 8 evaluations at once, so this bounds the ECR API rate.
   * @default 2
   */
  readonly evaluateMaxConcurrency?: number;
  /**
   * Retention of every function's log group.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * Sign a verdict attestation per evaluated digest and attach it to the image (OCI
   * referrer and cosign `.att`, docs/signatures.md): adds the attestor function, the one
   * role with push access to the watched repositories; `false` keeps the watcher read-only
   * on ECR.
   * @default true
   */
  readonly attestations?: boolean;
  /**
   * The sigstore `trusted_root.json` that keyless signature identities verify against: a
   * local file (bundled beside the evaluate handler) or `s3://bucket/key` (read hourly).
   * @default none: keyless identities in the policy cannot verify
   */
  readonly trustedRoot?: string;
  /**
   * The CISA Known Exploited Vulnerabilities catalog (its JSON feed) for `block: { exploited: true }`,
   * as `s3://bucket/key`: evaluate may read that one object and nothing else of the bucket
   * (docs/policy.md). Keep it fresh with a job that copies the feed there.
   * @default none: `exploited` uses the scanner's exploit data only
   */
  readonly knownExploitedCatalog?: string;
  /**
   * How long evaluate uses a loaded catalog before it asks S3 again (a conditional GET).
   * @default 1 hour
   */
  readonly knownExploitedRefresh?: Duration;
  /**
   * Bucket receiving the S3 server access logs of the allowlist bucket.
   * @default a new bucket whose logs expire after 90 days
   */
  readonly accessLogsBucket?: s3.IBucket;
}

/** Props with every default applied: what the construct builds from. */
export interface ResolvedProps {
  repositories: WatchedRepository[];
  scanningMode: 'basic' | 'enhanced';
  policyFile: string;
  rescanSchedule: string;
  rescanTimeZone: string;
  slackWebhookSecret?: string;
  alarmEmail?: string;
  allowlistValidity: Duration;
  allowlistNotAdmitted: number;
  removalPolicy: RemovalPolicy;
  deletionProtection: boolean;
  evaluateMaxConcurrency: number;
  logRetention: RetentionDays;
  attestations: boolean;
  trustedRoot?: string;
  knownExploitedCatalog?: string;
  knownExploitedRefresh: Duration;
}

/** One watched repository: an exact name, or every name starting with `prefix`. */
export type WatchedRepository = { name: string } | { prefix: string };

const PREFIX = /^[a-z0-9][a-z0-9._/-]*$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const CRON = /^cron\((.+)\)$/;
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;

function watchedRepository(entry: string): WatchedRepository {
  if (entry.endsWith('*')) {
    const prefix = entry.slice(0, -1);
    if (!PREFIX.test(prefix)) {
      throw new Error(
        prefix === ''
          ? 'a lone "*" is not a prefix: leave repositories empty to watch every repository'
          : `"${entry}": a prefix is lower-case letters, digits, ".", "_", "-" and "/" followed by one "*"`,
      );
    }
    return { prefix };
  }
  try {
    return { name: assertRepositoryName(entry) };
  } catch (error) {
    throw new Error(
      `"${entry}" is not an ECR repository name (${(error as Error).message.replace(/^.*: /, '')}); end it with "*" for a prefix`,
    );
  }
}

function scheduleProblem(expression: string): string | undefined {
  if (RATE.test(expression)) return undefined;
  const cron = CRON.exec(expression)?.[1]?.trim().split(/\s+/);
  if (!cron)
    return 'expected cron(minutes hours day-of-month month day-of-week year) or rate(n unit)';
  if (cron.length !== 6)
    return `a cron expression has 6 fields, "${expression}" has ${cron.length}`;
  if ((cron[2] === '?') === (cron[4] === '?')) {
    return 'exactly one of day-of-month and day-of-week must be "?"';
  }
  return undefined;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** `s3://bucket/key`, as the functions' environment accepts it (shared/config.ts). */
const S3_OBJECT = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+/;

const schema = z.object({
  repositories: z
    .array(z.string())
    .max(50, 'at most 50 entries: use prefixes ("team/*") for more')
    .default([]),
  scanningMode: z.enum(['basic', 'enhanced']).default('basic'),
  policyFile: z
    .string()
    .min(1)
    .default(DEFAULT_POLICY_FILE)
    .transform((file) => resolve(file)),
  rescanSchedule: z
    .string()
    .default('cron(0 2 * * ? *)')
    .superRefine((value, ctx) => {
      const problem = scheduleProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  rescanTimeZone: z
    .string()
    .default('UTC')
    .refine(isTimeZone, 'expected an IANA time zone such as "UTC" or "Europe/Paris"'),
  slackWebhookSecret: z
    .string()
    .refine(
      (s) => SECRET_ARN.test(s) || (!s.startsWith('arn:') && SECRET_NAME.test(s)),
      'expected a Secrets Manager secret ARN or name',
    )
    .optional(),
  alarmEmail: z.email('expected an e-mail address').optional(),
  allowlistValidity: z
    .custom<Duration>((d) => d instanceof Duration, 'expected a Duration')
    .default(Duration.hours(24))
    .refine((d) => Token.isUnresolved(d) || Number.isInteger(d.toSeconds() / 60), {
      message: 'use whole minutes',
    })
    .refine((d) => d.toMinutes({ integral: false }) >= 60 && d.toDays({ integral: false }) <= 7, {
      message: 'must be between 1 hour and 7 days',
    }),
  allowlistNotAdmitted: z
    .number()
    .int('expected a whole number')
    .min(0)
    .max(100_000, 'at most 100,000 (about 8 MB of the document)')
    .default(0),
  removalPolicy: z.enum(RemovalPolicy).default(RemovalPolicy.RETAIN),
  deletionProtection: z.boolean().optional(),
  evaluateMaxConcurrency: z
    .number()
    .int('expected a whole number')
    .min(2, 'the SQS event source needs at least 2')
    .max(1000, 'the SQS event source allows at most 1000')
    .default(2),
  logRetention: z.enum(RetentionDays).default(RetentionDays.THREE_MONTHS),
  attestations: z.boolean().default(true),
  trustedRoot: z
    .string()
    .refine(
      (v) => S3_OBJECT.test(v) || existsSync(v),
      'expected s3://bucket/key or an existing trusted_root.json file',
    )
    .optional(),
  knownExploitedCatalog: z
    .string()
    .regex(S3_OBJECT, 'expected s3://bucket/key (the CISA KEV catalog JSON)')
    .optional(),
  knownExploitedRefresh: z
    .custom<Duration>((d) => d instanceof Duration, 'expected a Duration')
    .default(Duration.hours(1))
    .refine((d) => Token.isUnresolved(d) || Number.isInteger(d.toSeconds()), {
      message: 'use whole seconds',
    })
    .refine((d) => d.toSeconds() >= 60 && d.toDays({ integral: false }) <= 7, {
      message: 'must be between 1 minute and 7 days',
    }),
});

/**
 * Checks the props before anything is built and applies the defaults. Every problem is
 * reported at once, each with the prop it is about.
 */
export function resolveProps(props: RegistryWatcherProps = {}): ResolvedProps {
  const parsed = schema.safeParse(props);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${i.path.join('.') || 'props'}: ${i.message}`);
  const repositories: WatchedRepository[] = [];
  for (const [index, entry] of (props.repositories ?? []).entries()) {
    try {
      repositories.push(watchedRepository(entry));
    } catch (error) {
      problems.push(`repositories.${index}: ${(error as Error).message}`);
    }
  }
  if (!parsed.success || problems.length > 0) {
    throw new ConfigError(
      `invalid RegistryWatcher props:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      parsed.success ? {} : { cause: parsed.error },
    );
  }
  const { data } = parsed;
  return {
    ...data,
    ...(data.trustedRoot &&
      !data.trustedRoot.startsWith('s3://') && {
        trustedRoot: resolve(data.trustedRoot),
      }),
    repositories,
    deletionProtection: data.deletionProtection ?? data.removalPolicy !== RemovalPolicy.DESTROY,
  };
}

/** Duration as the functions read it (`30s`, `90m`, `24h`): the largest unit that is exact. */
export function durationSetting(duration: Duration): string {
  const seconds = duration.toSeconds();
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
