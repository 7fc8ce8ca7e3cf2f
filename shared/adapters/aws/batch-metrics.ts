import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** CloudWatch namespace of every custom metric of the watcher (EMF, dimension `service`). */
export const METRICS_NAMESPACE = 'RegistryWatcher';
/** Items of a batch handed back to their source for a retry (they never reach `Errors`). */
export const BATCH_ITEM_FAILURES = 'BatchItemFailures';
/** Stream records parked for a deterministic failure. */
export const PARKED_RECORDS = 'ParkedRecords';
/** One per successful allowlist publication: its absence is the allowlist-age alarm. */
export const ALLOWLIST_PUBLISHED = 'AllowlistPublished';

/** The part of powertools' Metrics a handler uses (tests pass a sink of their own). */
export interface BatchMetrics {
  addMetric(
    name: string,
    unit: (typeof MetricUnit)[keyof typeof MetricUnit],
    value: number,
  ): unknown;
  publishStoredMetrics(): void;
}

export function watcherMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
}

/** Emits the figures of one batch, zeros included (a zero keeps the alarm's data dense). */
export function publishBatchFigures(
  sink: BatchMetrics,
  figures: { failures: number; parked?: number },
): void {
  sink.addMetric(BATCH_ITEM_FAILURES, MetricUnit.Count, figures.failures);
  if (figures.parked !== undefined)
    sink.addMetric(PARKED_RECORDS, MetricUnit.Count, figures.parked);
  sink.publishStoredMetrics();
}
