import type { Clock } from '../../shared/ports';
import type { AllowlistHolder, RefreshOutcome } from './allowlist-holder';
import type { ImageCheck } from './decision';
import { Counter, Gauge, Histogram, Registry } from './metrics';

const P = 'registry_watcher';

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

  constructor(holder: AllowlistHolder, clock: Clock) {
    const current = () => holder.current();
    const gauge = (name: string, help: string, read: () => number | undefined) =>
      this.registry.add(new Gauge(`${P}_${name}`, help, read));
    gauge(
      'allowlist_sequence',
      'Sequence of the allowlist in memory.',
      () => current()?.allowlist.sequence,
    );
    gauge('allowlist_age_seconds', 'Seconds since the allowlist in memory was generated.', () => {
      const index = current();
      return index && (clock().getTime() - index.generatedAtMs) / 1000;
    });
    gauge(
      'allowlist_valid_until_seconds',
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
      'allowlist_last_success_seconds',
      'When the source last answered with a verified or unchanged allowlist (Unix time).',
      () => holder.lastSuccessAt && holder.lastSuccessAt.getTime() / 1000,
    );
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
