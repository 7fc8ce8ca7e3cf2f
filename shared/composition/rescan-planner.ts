import type { ApiCallStats } from '../adapters/aws/paced-client';
import { SnsPublisher } from '../adapters/aws/sns-publisher';
import type { Policy } from '../domain/policy';
import type { ScanningMode } from '../domain/rescan';
import { type Log, silentLog, systemClock } from '../ports';
import type { RateLimit } from '../rate-limit';
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
