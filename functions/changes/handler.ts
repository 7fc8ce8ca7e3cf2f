// First, so that every later module's errors format through it (docs/deploy.md, Source maps).
import '../../shared/source-mapped-stacks';
import { type BatchMetrics, watcherMetrics } from '../../shared/adapters/aws/batch-metrics';
import { watcherLogger } from '../../shared/adapters/aws/function-logger';
import {
  changesOptionsFromEnvironment,
  createChangesHandler,
} from '../../shared/composition/changes';
import type { AnnounceChangesOptions } from '../../shared/services/announce-changes';

export const logger = watcherLogger();
const metrics = watcherMetrics('changes');

/** Builds the handler around its ports; tests pass their own. */
export function createHandler(options: () => AnnounceChangesOptions, sink: BatchMetrics = metrics) {
  return createChangesHandler(options, sink, logger);
}

export const handler = createHandler(() => changesOptionsFromEnvironment(process.env, logger));
