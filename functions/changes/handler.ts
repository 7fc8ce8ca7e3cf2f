import { Logger } from '@aws-lambda-powertools/logger';
import { type BatchMetrics, watcherMetrics } from '../../shared/adapters/aws/batch-metrics';
import {
  changesOptionsFromEnvironment,
  createChangesHandler,
} from '../../shared/composition/changes';
import type { AnnounceChangesOptions } from '../../shared/services/announce-changes';

export const logger = new Logger({ serviceName: 'registry-watcher', logRecordOrder: ['message'] });
const metrics = watcherMetrics('changes');

/** Builds the handler around its ports; tests pass their own. */
export function createHandler(options: () => AnnounceChangesOptions, sink: BatchMetrics = metrics) {
  return createChangesHandler(options, sink, logger);
}

export const handler = createHandler(() => changesOptionsFromEnvironment(process.env, logger));
