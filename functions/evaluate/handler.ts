import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchResponse } from 'aws-lambda';
import * as z from 'zod';
import {
  type BatchMetrics,
  publishBatchFigures,
  watcherMetrics,
} from '../../shared/adapters/aws/batch-metrics';
import { DynamoDbVerdictStore } from '../../shared/adapters/aws/dynamodb-verdict-store';
import { EcrAdapter } from '../../shared/adapters/aws/ecr';
import { signaturePortsFromEnvironment } from '../../shared/adapters/sigstore/environment';
import { loadPolicy, readEnvironment } from '../../shared/config';
import { type EvaluateBatchOptions, evaluateBatch } from '../../shared/services/evaluate-batch';

const sqsEvent = z.object({
  Records: z.array(z.object({ messageId: z.string(), body: z.string() }).loose()),
});

export const logger = new Logger({ serviceName: 'registry-watcher', logRecordOrder: ['message'] });
const metrics = watcherMetrics('evaluate');

/** Builds the handler around its ports; tests and `npm start` pass their own. */
export function createHandler(options: () => EvaluateBatchOptions, sink: BatchMetrics = metrics) {
  let resolved: EvaluateBatchOptions | undefined;
  return async (event: unknown): Promise<SQSBatchResponse> => {
    resolved ??= options();
    const { Records } = sqsEvent.parse(event);
    const outcome = await evaluateBatch(
      Records.map((r) => ({ id: r.messageId, body: r.body })),
      resolved,
    );
    (resolved.log ?? logger).info('batch evaluated', {
      messages: Records.length,
      evaluations: outcome.evaluations,
      failed: outcome.failed.length,
    });
    publishBatchFigures(sink, { failures: outcome.failed.length });
    return { batchItemFailures: outcome.failed.map((id) => ({ itemIdentifier: id })) };
  };
}

export const handler = createHandler(() => {
  const env = readEnvironment();
  const ecr = new EcrAdapter({ scanning: env.SCANNING_MODE });
  return {
    images: ecr,
    findings: ecr,
    store: new DynamoDbVerdictStore({ tableName: env.TABLE_NAME, historyDays: env.HISTORY_DAYS }),
    policy: loadPolicy(env),
    concurrency: env.EVALUATE_CONCURRENCY,
    log: logger,
    ...signaturePortsFromEnvironment(process.env, { log: logger }),
  };
});
