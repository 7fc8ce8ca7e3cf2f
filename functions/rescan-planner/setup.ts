import type { ApiCallStats } from '../../shared/adapters/aws/paced-client';
import { type AwsRescanSettings, awsRescanPorts } from '../../shared/adapters/aws/rescan-ports';
import { SnsPublisher } from '../../shared/adapters/aws/sns-publisher';
import { loadPolicy } from '../../shared/config';
import { ConfigError } from '../../shared/domain/errors';
import { ecrRegistry } from '../../shared/domain/image-ref';
import type { Policy } from '../../shared/domain/policy';
import type { ScanningMode } from '../../shared/domain/rescan';
import { type Log, silentLog, systemClock } from '../../shared/ports';
import type { RateLimit } from '../../shared/rate-limit';
import { publishDailyDigest } from '../../shared/services/daily-digest';
import type { RescanRunOptions } from '../../shared/services/rescan-run';
import type { RescanEnvironment } from './environment';

/** What a planner needs, whether it comes from the function environment or CLI flags. */
export interface RescanSettings {
  tableName: string;
  evaluateQueueUrl?: string;
  continuationQueueUrl?: string;
  policy: Policy;
  scanning: ScanningMode;
  registries: string[];
  repositories: string[];
  rates?: Record<string, RateLimit>;
  segments?: number | 'auto';
  renewAheadMs?: number;
  maxScansPerRun?: number;
  scanSettleSeconds?: number;
  reserveMs?: number;
  maxRunAgeMs?: number;
  /** Publish the daily digest here when a run completes. */
  verdictTopicArn?: string;
  dryRun?: boolean;
  clients?: AwsRescanSettings['clients'];
}

export type PlannerSetup = {
  options: Omit<RescanRunOptions, 'owner' | 'remainingMs'>;
  stats: ApiCallStats;
};

/** The planner's options on AWS: paced clients, the ports, and the daily digest at the end. */
export function plannerSetup(settings: RescanSettings, log: Log = silentLog): PlannerSetup {
  const { ports, stats } = awsRescanPorts({
    tableName: settings.tableName,
    scanning: settings.scanning,
    ...(settings.evaluateQueueUrl && { evaluateQueueUrl: settings.evaluateQueueUrl }),
    ...(settings.continuationQueueUrl && { continuationQueueUrl: settings.continuationQueueUrl }),
    ...(settings.rates && { rates: settings.rates }),
    ...(settings.segments !== undefined && { segments: settings.segments }),
    ...(settings.clients && { clients: settings.clients }),
  });
  const topic = settings.verdictTopicArn;
  const optional = <K extends keyof RescanSettings>(key: K) =>
    settings[key] === undefined ? {} : { [key]: settings[key] };
  return {
    stats,
    options: {
      ...ports,
      policy: settings.policy,
      registries: settings.registries,
      watch: settings.repositories,
      scanning: settings.scanning,
      ...optional('renewAheadMs'),
      ...optional('maxScansPerRun'),
      ...optional('scanSettleSeconds'),
      ...optional('reserveMs'),
      ...optional('maxRunAgeMs'),
      ...optional('dryRun'),
      log,
      ...(topic && {
        onRunComplete: async (summary) => {
          await publishDailyDigest({
            verdicts: ports.catalog,
            publisher: new SnsPublisher(topic),
            now: systemClock(),
            id: `digest-${summary.runId}`,
            run: { ...summary.totals, invocations: summary.invocations },
            log,
          });
        },
      }),
    },
  };
}

/** The account of a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>). */
export function accountOf(functionArn: string): string {
  const account = functionArn.split(':')[4];
  if (!account || !/^\d{12}$/.test(account)) {
    throw new ConfigError(
      `cannot read the account from function ARN "${functionArn}"; set REGISTRIES`,
    );
  }
  return account;
}

/** Settings from the validated environment; no REGISTRIES means this account's, in this region. */
export function settingsFromEnvironment(
  env: RescanEnvironment,
  functionArn: string,
): RescanSettings {
  return {
    tableName: env.TABLE_NAME,
    evaluateQueueUrl: env.EVALUATE_QUEUE_URL,
    continuationQueueUrl: env.CONTINUATION_QUEUE_URL,
    policy: loadPolicy(env),
    scanning: env.SCANNING_MODE,
    registries:
      env.REGISTRIES.length > 0
        ? env.REGISTRIES
        : [ecrRegistry(accountOf(functionArn), env.AWS_REGION)],
    repositories: env.REPOSITORIES,
    rates: env.RATE_LIMITS,
    segments: env.TABLE_SCAN_SEGMENTS,
    renewAheadMs: env.SCAN_RENEW_AHEAD,
    maxScansPerRun: env.MAX_SCANS_PER_RUN,
    scanSettleSeconds: env.SCAN_SETTLE_SECONDS,
    reserveMs: env.RESERVE_SECONDS * 1000,
    maxRunAgeMs: env.MAX_RUN_AGE,
    ...(env.VERDICT_TOPIC_ARN && { verdictTopicArn: env.VERDICT_TOPIC_ARN }),
  };
}
