// First, so that every later module's errors format through it (docs/deploy.md, Source maps).
import '../../shared/source-mapped-stacks';
import { type BatchMetrics, watcherMetrics } from '../../shared/adapters/aws/batch-metrics';
import { watcherLogger } from '../../shared/adapters/aws/function-logger';
import {
  attestorOptionsFromEnvironment,
  createAttestorHandler,
} from '../../shared/composition/attestor';
import type { AttestVerdictOptions } from '../../shared/services/attest-verdict';

export const logger = watcherLogger();
const metrics = watcherMetrics('attestor');

/** Builds the handler around its ports; tests pass their own. */
export function createHandler(options: () => AttestVerdictOptions, sink: BatchMetrics = metrics) {
  return createAttestorHandler(options, sink, logger);
}

export const handler = createHandler(() => attestorOptionsFromEnvironment(process.env));
