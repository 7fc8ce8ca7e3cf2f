import type { Clock } from '../../shared/ports';
import { VERSION } from '../../shared/version';
import type { AllowlistHolder, RefreshOutcome } from './allowlist-holder';
import type { ImageCheck } from './decision';
import { Counter, Gauge, Histogram, LabelledGauge, Registry } from './metrics';
import { RuntimeMetrics } from './runtime-metrics';

/** One word, as the Prometheus naming guide asks (cert-manager writes `certmanager_`). */
export const METRIC_PREFIX = 'registrywatcher';
const P = METRIC_PREFIX;

/** Every metric the webhook exports (docs/enforcement.md lists them). */
export class WebhookMetrics {
  readonly registry = new Registry();
  readonly reviews = this.registry.add(
    new Counter(
      `${P}_admission_reviews_total`,
      'Admission reviews by decision, first reason and mode.',
    ),
  );
  readonly images = this.registry.add(
    new Counter(`${P}_admission_images_total`, 'Images checked, by outcome and reason.'),
  );
  readonly duration = this.registry.add(
    new Histogram(
      `${P}_admission_duration_seconds`,
      'Time to answer one admission review, body read to response written.',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    ),
  );
  readonly tagsPinned = this.registry.add(
    new Counter(`${P}_admission_tags_pinned_total`, 'Tags rewritten to their admitted digest.'),
  );
  readonly refreshes = this.registry.add(
    new Counter(`${P}_allowlist_refreshes_total`, 'Allowlist refresh attempts by result.'),
  );
  readonly refreshFailures = this.registry.add(
    new Counter(
      `${P}_allowlist_refresh_failures_total`,
      'Refreshes that did not yield a fresh verified allowlist, by reason.',
    ),
  );
  readonly tlsReloads = this.registry.add(
    new Counter(`${P}_tls_reloads_total`, 'TLS certificate reloads by result.'),
  );

  private readonly runtime: RuntimeMetrics;

  constructor(holder: AllowlistHolder, clock: Clock) {
    const current = () => holder.current();
    const gauge = (name: string, help: string, read: () => number | undefined) =>
      this.registry.add(new Gauge(`${P}_${name}`, help, read));
    this.registry.add(
      new LabelledGauge(
        `${P}_build_info`,
        'Version of the webhook and of Node.js running it; always 1.',
        () => [[{ version: VERSION, nodejs_version: process.version }, 1]],
      ),
    );
    gauge(
      'allowlist_sequence',
      'Sequence of the allowlist in memory.',
      () => current()?.allowlist.sequence,
    );
    gauge(
      'allowlist_generated_timestamp_seconds',
      'generatedAt of the allowlist in memory (Unix time); its age is time() minus this.',
      () => {
        const index = current();
        return index && index.generatedAtMs / 1000;
      },
    );
    gauge(
      'allowlist_valid_until_timestamp_seconds',
      'validUntil of the allowlist in memory (Unix time).',
      () => {
        const index = current();
        return index && index.validUntilMs / 1000;
      },
    );
    gauge(
      'allowlist_expired',
      '1 when the allowlist in memory is past validUntil (failureMode applies).',
      () => {
        const index = current();
        return index ? Number(index.validUntilMs <= clock().getTime()) : 1;
      },
    );
    gauge('allowlist_digests', 'Digests in the allowlist in memory.', () => current()?.digests);
    gauge(
      'allowlist_last_success_timestamp_seconds',
      'When the source last answered with a verified or unchanged allowlist (Unix time).',
      () => holder.lastSuccessAt && holder.lastSuccessAt.getTime() / 1000,
    );
    this.runtime = new RuntimeMetrics(this.registry, clock);
  }

  /** Stops the event-loop monitor and the GC observer. */
  close(): void {
    this.runtime.close();
  }

  refreshed(outcome: RefreshOutcome): void {
    this.refreshes.inc({ result: outcome.result });
    if (outcome.result === 'rejected') this.refreshFailures.inc({ reason: outcome.reason });
    if (outcome.result === 'unreachable') this.refreshFailures.inc({ reason: outcome.reason });
    if (outcome.result === 'stale') this.refreshFailures.inc({ reason: 'EXPIRED' });
  }

  reviewed(
    decision: string,
    reason: string,
    mode: string,
    checks: readonly ImageCheck[],
    seconds: number,
  ): void {
    this.reviews.inc({ decision, reason, mode });
    for (const check of checks) this.images.inc({ outcome: check.outcome, reason: check.reason });
    this.duration.observe(seconds);
  }
}
