import type { SQSBatchResponse } from 'aws-lambda';
import * as z from 'zod';
import { type BatchMetrics, publishBatchFigures } from '../adapters/aws/batch-metrics';
import { DynamoDbFindingsFacts } from '../adapters/aws/dynamodb-findings-facts';
import { DynamoDbVerdictStore } from '../adapters/aws/dynamodb-verdict-store';
import { EcrAdapter } from '../adapters/aws/ecr';
import { ECR_EVENT_READERS } from '../adapters/aws/ecr-events';
import { messageReaderOf } from '../adapters/aws/evaluate-events';
import { FileKnownExploited } from '../adapters/local/kev-file';
import { loadPolicy, readEnvironment } from '../config';
import { parseDuration } from '../domain/duration';
import type { KnownExploitedCatalog, Log } from '../ports';
import { type EvaluateBatchOptions, evaluateBatch } from '../services/evaluate-batch';
import { KnownExploitedHolder } from '../services/known-exploited';
import { signaturePortsFromEnvironment } from './signatures';

/**
 * The evaluate hop's composition root: the Lambda (functions/evaluate) and `npm start`
 * (cli/local) run SQS batches through the same handler; only the ports differ.
 */

/** The queue's message format (EventBridge events, our own requests): `npm start` sends, `events parse` reads. */
export { evaluateRequestEvent, requestsFromAnyEvent } from '../adapters/aws/evaluate-events';

const sqsEvent = z.object({
  Records: z.array(z.object({ messageId: z.string(), body: z.string() }).loose()),
});

/** The events evaluate reads: one map of readers per registry or scanner (its adapter's). */
const readMessage = messageReaderOf(ECR_EVENT_READERS);

/** SQS batch → evaluateBatch → batch item failures; ports resolved once, on first use. */
export function createEvaluateHandler(
  options: () => EvaluateBatchOptions,
  sink: BatchMetrics,
  log: Log,
) {
  let resolved: EvaluateBatchOptions | undefined;
  return async (event: unknown): Promise<SQSBatchResponse> => {
    resolved ??= options();
    const { Records } = sqsEvent.parse(event);
    const outcome = await evaluateBatch(
      Records.map((r) => ({ id: r.messageId, body: r.body })),
      resolved,
      readMessage,
    );
    (resolved.log ?? log).info('batch evaluated', {
      messages: Records.length,
      evaluations: outcome.evaluations,
      failed: outcome.failed.length,
    });
    publishBatchFigures(sink, { failures: outcome.failed.length });
    return { batchItemFailures: outcome.failed.map((id) => ({ itemIdentifier: id })) };
  };
}

/** The ports on AWS, from the function environment: ECR, DynamoDB (verdicts and facts), signatures, policy. */
export function evaluateOptionsFromEnvironment(
  env: NodeJS.ProcessEnv,
  log: Log,
): EvaluateBatchOptions {
  const settings = readEnvironment(env);
  const ecr = new EcrAdapter({ scanning: settings.SCANNING_MODE });
  return {
    images: ecr,
    findings: ecr,
    facts: new DynamoDbFindingsFacts({ tableName: settings.TABLE_NAME }),
    store: new DynamoDbVerdictStore({
      tableName: settings.TABLE_NAME,
      historyDays: settings.HISTORY_DAYS,
    }),
    policy: loadPolicy(settings),
    concurrency: settings.EVALUATE_CONCURRENCY,
    log,
    ...signaturePortsFromEnvironment(env, { log }),
    ...(settings.KEV_SOURCE && {
      knownExploited: new KnownExploitedHolder({
        catalog: knownExploitedCatalogAt(settings.KEV_SOURCE),
        refreshMs: parseDuration(settings.KEV_REFRESH),
        log,
      }),
    }),
  };
}

/** `s3://bucket/key` or a file path (bundled with the function, or `npm start`'s). */
export function knownExploitedCatalogAt(source: string): KnownExploitedCatalog {
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(source);
  const [bucket, key] = [s3?.[1], s3?.[2]];
  if (!bucket || !key) return new FileKnownExploited(source);
  // The S3 client loads on first use, as for an s3:// trusted root: a cold start without an
  // S3 catalog never reads it (test/infra/bundles.test.ts).
  let catalog: Promise<KnownExploitedCatalog> | undefined;
  return {
    async load(tag) {
      catalog ??= import('../adapters/aws/s3-known-exploited.js').then(
        ({ S3KnownExploited }) => new S3KnownExploited({ bucket, key }),
      );
      return (await catalog).load(tag);
    },
  };
}
