// First, so that every later module's errors format through it (docs/deploy.md, Source maps).
import '../../shared/source-mapped-stacks';
import { type BatchMetrics, watcherMetrics } from '../../shared/adapters/aws/batch-metrics';
import { watcherLogger } from '../../shared/adapters/aws/function-logger';
import {
  type AllowlistHandlerOptions,
  allowlistOptionsFromEnvironment,
  createAllowlistHandler,
} from '../../shared/composition/allowlist';

export const logger = watcherLogger();
const metrics = watcherMetrics('allowlist');

/** Builds the handler around its ports; tests pass their own. */
export function createHandler(
  options: () => AllowlistHandlerOptions,
  sink: BatchMetrics = metrics,
) {
  return createAllowlistHandler(options, sink);
}

export const handler = createHandler(() => allowlistOptionsFromEnvironment(process.env, logger));
