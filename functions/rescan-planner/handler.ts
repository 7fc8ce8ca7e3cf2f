// First, so that every later module's errors format through it (docs/deploy.md, Source maps).
import '../../shared/source-mapped-stacks';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse } from 'aws-lambda';
import * as z from 'zod';
import { BATCH_ITEM_FAILURES, watcherMetrics } from '../../shared/adapters/aws/batch-metrics';
import { watcherLogger } from '../../shared/adapters/aws/function-logger';
import { type PlannerSetup, plannerSetup } from '../../shared/composition/rescan-planner';
import { InvalidEventError } from '../../shared/domain/errors';
import { addTotals, emptyTotals, type RescanTotals } from '../../shared/domain/rescan';
import { readEnvironmentOf } from '../../shared/environment';
import { rescanEnvironment } from '../../shared/rescan-environment';
import {
  type RescanInvocation,
  type RescanTrigger,
  runRescan,
} from '../../shared/services/rescan-run';
import { callsSince, publishRescanMetrics } from './metrics';
import { settingsFromEnvironment } from './setup';

/** The parts of the Lambda context the planner uses. */
export interface PlannerContext {
  awsRequestId: string;
  invokedFunctionArn: string;
  getRemainingTimeInMillis(): number;
}

/** The nightly schedule's payload (EventBridge Scheduler), or any other direct invocation. */
const startEvent = z.looseObject({ action: z.literal('start').optional() });
const sqsEvent = z.object({
  Records: z.array(z.looseObject({ messageId: z.string(), body: z.string() })).min(1),
});
const continuation = z.object({ action: z.literal('continue'), runId: z.string().min(1) });

export const logger = watcherLogger();
const metrics = watcherMetrics('rescan-planner');

/** Builds the handler around its setup; tests pass their own ports and metrics. */
export function createHandler(
  setup: (context: PlannerContext) => PlannerSetup,
  sink: Metrics = metrics,
) {
  let resolved: PlannerSetup | undefined;
  return async (
    event: unknown,
    context: PlannerContext,
  ): Promise<SQSBatchResponse | RescanInvocation> => {
    resolved ??= setup(context);
    const { options, stats } = resolved;
    const before = stats.snapshot();
    let done: RescanTotals = emptyTotals();
    const run = async (trigger: RescanTrigger) => {
      const result = await runRescan(trigger, {
        ...options,
        owner: context.awsRequestId,
        remainingMs: () => context.getRemainingTimeInMillis(),
      });
      logger.info(`rescan invocation: ${result.outcome}`, { ...result });
      done = addTotals(done, result.delta ?? {});
      return result;
    };
    try {
      const batch = sqsEvent.safeParse(event);
      if (batch.success) {
        const failures = await continueRuns(batch.data.Records, run);
        sink.addMetric(BATCH_ITEM_FAILURES, MetricUnit.Count, failures.length);
        return { batchItemFailures: failures };
      }
      if (!startEvent.safeParse(event).success) {
        throw new InvalidEventError(
          'expected the nightly schedule\'s {"action":"start"} or an SQS batch of continuations',
        );
      }
      return await run({ kind: 'start' });
    } finally {
      publishRescanMetrics(sink, done, callsSince(before, stats.snapshot()));
    }
  };
}

/** Each continuation message; a malformed or failed one goes back to SQS (then the DLQ). */
async function continueRuns(
  records: { messageId: string; body: string }[],
  run: (trigger: RescanTrigger) => Promise<RescanInvocation>,
): Promise<SQSBatchResponse['batchItemFailures']> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of records) {
    const parsed = continuation.safeParse(safeJson(record.body));
    if (!parsed.success) {
      logger.error('not a rescan continuation: it goes back to the queue, then to the DLQ', {
        messageId: record.messageId,
      });
      failures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      const result = await run({ kind: 'continue', runId: parsed.data.runId });
      // Held by another invocation, perhaps a crashed one whose lease has not run out yet:
      // SQS delivers the message again after its visibility timeout.
      if (result.outcome === 'busy') failures.push({ itemIdentifier: record.messageId });
    } catch (error) {
      logger.error('rescan continuation failed; SQS will deliver it again', {
        messageId: record.messageId,
        error: (error as Error).message,
      });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return failures;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const handler = createHandler((context) => {
  const env = readEnvironmentOf(rescanEnvironment);
  return plannerSetup(settingsFromEnvironment(env, context.invokedFunctionArn), logger);
});
