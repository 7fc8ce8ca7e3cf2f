import { Logger } from '@aws-lambda-powertools/logger';
import { type BatchMetrics, watcherMetrics } from '../../shared/adapters/aws/batch-metrics';
import {
  type AllowlistHandlerOptions,
  allowlistOptionsFromEnvironment,
  createAllowlistHandler,
} from '../../shared/composition/allowlist';

export const logger = new Logger({ serviceName: 'registry-watcher', logRecordOrder: ['message'] });
const metrics = watcherMetrics('allowlist');

/** Builds the handler around its ports; tests pass their own. */
export function createHandler(
  options: () => AllowlistHandlerOptions,
  sink: BatchMetrics = metrics,
) {
  return createAllowlistHandler(options, sink);
}

export const handler = createHandler(() => allowlistOptionsFromEnvironment(process.env, logger));
