import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ApiCallStats } from '../../shared/adapters/aws/paced-client';
import type { RescanTotals } from '../../shared/domain/rescan';

type CallCounts = ReturnType<ApiCallStats['snapshot']>;

/** EMF names of the run figures published per invocation. */
const FIGURES: [keyof RescanTotals, string][] = [
  ['planned', 'ImagesPlanned'],
  ['missing', 'ImagesMissingVerdict'],
  ['deleted', 'ImagesDeleted'],
  ['scansStarted', 'ScansStarted'],
  ['scansNotPossible', 'ScansNotPossible'],
  ['scansThrottled', 'ScansThrottled'],
  ['repositoryErrors', 'RepositoryErrors'],
];

/** Calls made between two snapshots of the same (per-container) stats. */
export function callsSince(before: CallCounts, after: CallCounts): CallCounts {
  return Object.fromEntries(
    Object.entries(after).map(([api, n]) => [
      api,
      {
        calls: n.calls - (before[api]?.calls ?? 0),
        throttles: n.throttles - (before[api]?.throttles ?? 0),
      },
    ]),
  );
}

/**
 * One invocation's share of the run as CloudWatch EMF: images planned and missing a
 * verdict, scans, and calls and throttles per AWS API (dimension `Api`).
 */
export function publishRescanMetrics(
  metrics: Metrics,
  delta: RescanTotals | undefined,
  calls: CallCounts,
): void {
  for (const [key, name] of FIGURES) metrics.addMetric(name, MetricUnit.Count, delta?.[key] ?? 0);
  metrics.publishStoredMetrics();
  for (const [api, n] of Object.entries(calls)) {
    if (n.calls === 0) continue;
    const perApi = metrics.singleMetric();
    perApi.addDimension('Api', api);
    perApi.addMetric('AwsCalls', MetricUnit.Count, n.calls);
    const throttled = metrics.singleMetric();
    throttled.addDimension('Api', api);
    throttled.addMetric('Throttles', MetricUnit.Count, n.throttles);
  }
}
