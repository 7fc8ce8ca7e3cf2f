// First, so that every later module's errors format through it (docs/deploy.md, Source maps).
import '../../shared/source-mapped-stacks';
import { type BatchMetrics, watcherMetrics } from '../../shared/adapters/aws/batch-metrics';
import { watcherLogger } from '../../shared/adapters/aws/function-logger';
import {
  createNotifyHandler,
  type NotifyHandlerOptions,
  notifyOptionsFromEnvironment,
} from '../../shared/composition/notify';

export const logger = watcherLogger();
const metrics = watcherMetrics('notify');

/** Builds the handler around its ports; tests pass their own. */
export function createHandler(options: () => NotifyHandlerOptions, sink: BatchMetrics = metrics) {
  return createNotifyHandler(options, sink, logger);
}

export const handler = createHandler(() => notifyOptionsFromEnvironment(process.env, logger));
