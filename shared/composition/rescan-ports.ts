import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { SQSClient } from '@aws-sdk/client-sqs';
import { sharedClient } from '../adapters/aws/clients';
import { documentClient } from '../adapters/aws/dynamodb-verdict-store';
import { EcrAdapter } from '../adapters/aws/ecr';
import { sharedEcrClient } from '../adapters/aws/ecr-calls';
import { EcrRepositorySource } from '../adapters/aws/ecr-repositories';
import { EcrScanStarter } from '../adapters/aws/ecr-scans';
import { SqsEvaluateQueue } from '../adapters/aws/evaluate-queue';
import { ApiCallStats, pacedClient } from '../adapters/aws/paced-client';
import { DynamoDbRescanCheckpoints } from '../adapters/aws/rescan-checkpoints';
import { SqsRescanContinuation } from '../adapters/aws/rescan-continuation';
import { DynamoDbVerdictCatalog } from '../adapters/aws/verdict-catalog';
import { ConfigError } from '../domain/errors';
import type { ScanningMode } from '../domain/rescan';
import type { Clock } from '../ports';
import type { EvaluateQueue, RescanContinuation } from '../ports/rescan';
import { ApiPacer, type RateLimit } from '../rate-limit';
import type { RetryOptions } from '../retry';
import type { RescanRunOptions } from '../services/rescan-run';

/**
 * Conservative calls per second per API. ECR publishes no rate quota for these APIs,
 * so they sit well under what accounts see throttled; RATE_LIMITS / --rates override them.
 */
export const DEFAULT_RESCAN_RATES: Readonly<Record<string, RateLimit>> = {
  DescribeRepositories: { perSecond: 5 },
  DescribeImages: { perSecond: 10 },
  BatchGetImage: { perSecond: 10 },
  StartImageScan: { perSecond: 5 },
  SendMessageBatch: { perSecond: 50 },
  SendMessage: { perSecond: 5 },
  DescribeTable: { perSecond: 5 },
  Scan: { perSecond: 10 },
  GetItem: { perSecond: 25 },
  PutItem: { perSecond: 25 },
};
/** Any other API the planner might call. */
const FALLBACK_RATE: RateLimit = { perSecond: 5 };

export interface AwsRescanSettings {
  tableName: string;
  /** Required unless the run is a dry run. */
  evaluateQueueUrl?: string;
  /** The planner's own queue; absent in the CLI, which loops instead. */
  continuationQueueUrl?: string;
  scanning: ScanningMode;
  /** Merged over DEFAULT_RESCAN_RATES. */
  rates?: Record<string, RateLimit>;
  segments?: number | 'auto';
  /** No pacing at all: for benchmarks that measure work, not the nightly schedule. */
  unpaced?: boolean;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  /** Injected clients (tests, the CLI's region); created once otherwise. */
  clients?: {
    ecrFor?: (region: string) => ECRClient;
    dynamo?: DynamoDBClient;
    sqs?: SQSClient;
  };
}

export type AwsRescanPorts = Pick<
  RescanRunOptions,
  'catalog' | 'repositories' | 'images' | 'queue' | 'scans' | 'checkpoints'
> & { continuation?: RescanContinuation };

/**
 * The planner's ports on AWS: every client wrapped so each call waits for its API's token
 * bucket and is counted in `stats` (calls and throttles per API, for EMF metrics).
 */
export function awsRescanPorts(settings: AwsRescanSettings): {
  ports: AwsRescanPorts;
  stats: ApiCallStats;
  repositories: EcrRepositorySource;
} {
  const stats = new ApiCallStats();
  const pace = {
    ...(settings.clock && { clock: settings.clock }),
    ...(settings.sleep && { sleep: settings.sleep }),
  };
  const pacer = settings.unpaced
    ? new ApiPacer({})
    : new ApiPacer(
        { ...DEFAULT_RESCAN_RATES, ...settings.rates },
        { ...pace, fallback: FALLBACK_RATE },
      );
  const retry: RetryOptions = settings.sleep ? { sleep: settings.sleep } : {};
  const ecrFor = settings.clients?.ecrFor ?? sharedEcrClient;
  const pacedEcr = new Map<string, ECRClient>();
  const clientFor = (region: string) => {
    const client = pacedEcr.get(region) ?? pacedClient(ecrFor(region), pacer, stats);
    pacedEcr.set(region, client);
    return client;
  };
  const docs = pacedClient(
    documentClient(settings.clients?.dynamo ?? sharedClient(DynamoDBClient)),
    pacer,
    stats,
  );
  const sqs = pacedClient(settings.clients?.sqs ?? sharedClient(SQSClient), pacer, stats);
  const { tableName } = settings;
  const repositories = new EcrRepositorySource({ clientFor, retry });
  const queue: EvaluateQueue = settings.evaluateQueueUrl
    ? new SqsEvaluateQueue({
        queueUrl: settings.evaluateQueueUrl,
        client: sqs,
        retry,
        ...(settings.clock && { clock: settings.clock }),
      })
    : {
        send: async () => {
          throw new ConfigError(
            'no evaluate queue configured: set EVALUATE_QUEUE_URL or --queue-url',
          );
        },
      };
  return {
    stats,
    repositories,
    ports: {
      catalog: new DynamoDbVerdictCatalog({
        tableName,
        client: docs,
        retry,
        ...(settings.segments !== undefined && { segments: settings.segments }),
      }),
      repositories,
      images: new EcrAdapter({ clientFor, scanning: settings.scanning, retry }),
      queue,
      ...(settings.scanning === 'basic' && { scans: new EcrScanStarter({ clientFor, retry }) }),
      checkpoints: new DynamoDbRescanCheckpoints({ tableName, client: docs, retry }),
      ...(settings.continuationQueueUrl && {
        continuation: new SqsRescanContinuation({
          queueUrl: settings.continuationQueueUrl,
          client: sqs,
          retry,
        }),
      }),
    },
  };
}
