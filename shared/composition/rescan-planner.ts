import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { awsClient } from '../adapters/aws/clients';
import { ecrClientCache } from '../adapters/aws/ecr-calls';
import { EcrRepositorySource } from '../adapters/aws/ecr-repositories';
import type { ApiCallStats } from '../adapters/aws/paced-client';
import { SnsPublisher } from '../adapters/aws/sns-publisher';
import type { Policy } from '../domain/policy';
import type { ScanningMode } from '../domain/rescan';
import { type Log, silentLog, systemClock } from '../ports';
import type { RateLimit } from '../rate-limit';
import type { RescanEnvironment } from '../rescan-environment';
import { publishDailyDigest } from '../services/daily-digest';
import type { RescanRunOptions } from '../services/rescan-run';
import { type AwsRescanSettings, awsRescanPorts } from './rescan-ports';

/**
 * The rescan planner's composition root: the function (functions/rescan-planner), the CLI
 * (`registry-watcher rescan`) and the benchmarks build the planner here.
 */

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

/** What the settings take from the planner's environment (the CLI's: no continuation queue). */
export type PlannerEnvironment = Pick<
  RescanEnvironment,
  | 'TABLE_NAME'
  | 'SCANNING_MODE'
  | 'REPOSITORIES'
  | 'RATE_LIMITS'
  | 'TABLE_SCAN_SEGMENTS'
  | 'SCAN_RENEW_AHEAD'
  | 'MAX_SCANS_PER_RUN'
  | 'SCAN_SETTLE_SECONDS'
  | 'RESERVE_SECONDS'
  | 'MAX_RUN_AGE'
> &
  Partial<
    Pick<RescanEnvironment, 'EVALUATE_QUEUE_URL' | 'CONTINUATION_QUEUE_URL' | 'VERDICT_TOPIC_ARN'>
  >;

/**
 * Settings from an environment validated by `rescanEnvironment` (the function's, or the CLI's
 * flags read through it). Policy and registries are the caller's: where they come from differs.
 */
export function settingsOfEnvironment(
  env: PlannerEnvironment,
  given: Pick<RescanSettings, 'policy' | 'registries'>,
): RescanSettings {
  return {
    tableName: env.TABLE_NAME,
    ...(env.EVALUATE_QUEUE_URL && { evaluateQueueUrl: env.EVALUATE_QUEUE_URL }),
    ...(env.CONTINUATION_QUEUE_URL && { continuationQueueUrl: env.CONTINUATION_QUEUE_URL }),
    policy: given.policy,
    scanning: env.SCANNING_MODE,
    registries: given.registries,
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

type RescanClients = NonNullable<RescanSettings['clients']>;

/** The CLI's clients, in the region it was given (ECR: one client per registry's region). */
export function rescanClients(region?: string): Required<RescanClients> {
  const options = region ? { region } : {};
  return {
    ecrFor: ecrClientCache(),
    dynamo: awsClient(DynamoDBClient, options),
    sqs: awsClient(SQSClient, options),
  };
}

/** The region the SDK would use (AWS_REGION, profile), if one is configured. */
export function configuredRegion(): Promise<string | undefined> {
  return awsClient(SQSClient)
    .config.region()
    .catch(() => undefined);
}

/** The calling account's ECR registry in a region, when it has a repository there. */
export function accountRegistry(
  region: string,
  clients: Pick<Required<RescanClients>, 'ecrFor'>,
): Promise<string | undefined> {
  return new EcrRepositorySource({ clientFor: clients.ecrFor }).defaultRegistry(region);
}
