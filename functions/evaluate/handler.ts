// First, so that every later module's errors format through it (docs/deploy.md, Source maps).
import '../../shared/source-mapped-stacks';
import { type BatchMetrics, watcherMetrics } from '../../shared/adapters/aws/batch-metrics';
import { watcherLogger } from '../../shared/adapters/aws/function-logger';
import {
  createEvaluateHandler,
  evaluateOptionsFromEnvironment,
} from '../../shared/composition/evaluate';
import type { EvaluateBatchOptions } from '../../shared/services/evaluate-batch';

export const logger = watcherLogger();
const metrics = watcherMetrics('evaluate');

/** Builds the handler around its ports; tests pass their own. */
export function createHandler(options: () => EvaluateBatchOptions, sink: BatchMetrics = metrics) {
  return createEvaluateHandler(options, sink, logger);
}

export const handler = createHandler(() => evaluateOptionsFromEnvironment(process.env, logger));
