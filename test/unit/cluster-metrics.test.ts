import { readFileSync } from 'node:fs';
import { AllowlistHolder } from '../../cluster/webhook/allowlist-holder';
import {
  Counter,
  Gauge,
  Histogram,
  LabelledGauge,
  ReadCounter,
  Registry,
} from '../../cluster/webhook/metrics';
import { WebhookMetrics } from '../../cluster/webhook/webhook-metrics';
import { admitted, newSigner, signedAllowlist } from '../support/cluster';
import { parsePrometheusText } from '../support/prometheus-text';

describe('Counter', () => {
  it('keeps one series per label set, in the order first seen', () => {
    const counter = new Counter('reviews_total', 'Reviews.');
    counter.inc({ decision: 'admitted', reason: 'ALLOWLISTED' });
    counter.inc({ decision: 'denied', reason: 'NOT_PINNED' });
    counter.inc({ decision: 'admitted', reason: 'ALLOWLISTED' }, 2);
    expect(counter.render()).toEqual([
      'reviews_total{decision="admitted",reason="ALLOWLISTED"} 3',
      'reviews_total{decision="denied",reason="NOT_PINNED"} 1',
    ]);
  });

  it.each<[string, Record<string, string>, Record<string, string>]>([
    ['same values under other names', { a: 'x', b: 'y' }, { b: 'x', a: 'y' }],
    ['a value that looks like a name', { a: 'b' }, { b: 'a' }],
    ['fewer labels', { a: 'x', b: 'y' }, { a: 'x' }],
    ['no labels', { a: 'x' }, {}],
  ])('tells label sets apart: %s', (_, one, other) => {
    const counter = new Counter('c', 'C.');
    counter.inc(one);
    counter.inc(other, 5);
    expect(counter.get(one)).toBe(1);
    expect(counter.get(other)).toBe(5);
    expect(counter.render()).toHaveLength(2);
  });

  it('escapes label values as the text format requires', () => {
    const counter = new Counter('c', 'C.');
    counter.inc({ path: 'a\\b"c\nd' });
    expect(counter.render()).toEqual(['c{path="a\\\\b\\"c\\nd"} 1']);
  });
});

describe('Registry', () => {
  it('renders HELP, TYPE and samples of each family', () => {
    const registry = new Registry();
    registry.add(new Counter('c_total', 'A counter.')).inc();
    registry.add(new Histogram('h_seconds', 'A histogram.', [0.1, 1])).observe(0.5);
    expect(registry.render()).toBe(
      [
        '# HELP c_total A counter.',
        '# TYPE c_total counter',
        'c_total 1',
        '# HELP h_seconds A histogram.',
        '# TYPE h_seconds histogram',
        'h_seconds_bucket{le="0.1"} 0',
        'h_seconds_bucket{le="1"} 1',
        'h_seconds_bucket{le="+Inf"} 1',
        'h_seconds_sum 0.5',
        'h_seconds_count 1',
        '',
      ].join('\n'),
    );
  });
});

describe('Histogram with labels, LabelledGauge, ReadCounter', () => {
  it('renders labelled histogram series with le last, and nothing before an observation', () => {
    const registry = new Registry();
    const h = registry.add(new Histogram('gc_seconds', 'GC.', [0.01, 1], true));
    expect(h.render()).toEqual([]);
    h.observe(0.005, { kind: 'minor' });
    h.observe(2, { kind: 'major' });
    h.observe(0.5, { kind: 'minor' });
    expect(h.render()).toEqual([
      'gc_seconds_bucket{kind="minor",le="0.01"} 1',
      'gc_seconds_bucket{kind="minor",le="1"} 2',
      'gc_seconds_bucket{kind="minor",le="+Inf"} 2',
      'gc_seconds_sum{kind="minor"} 0.505',
      'gc_seconds_count{kind="minor"} 2',
      'gc_seconds_bucket{kind="major",le="0.01"} 0',
      'gc_seconds_bucket{kind="major",le="1"} 0',
      'gc_seconds_bucket{kind="major",le="+Inf"} 1',
      'gc_seconds_sum{kind="major"} 2',
      'gc_seconds_count{kind="major"} 1',
    ]);
    expect(() => parsePrometheusText(registry.render())).not.toThrow();
  });

  it('writes infinities as Go does, escapes HELP, reads gauges and counters at scrape time', () => {
    let cpu = 1.5;
    const registry = new Registry();
    registry.add(new Gauge('g', 'a \\ and a\nnewline', () => Number.POSITIVE_INFINITY));
    registry.add(new LabelledGauge('l', 'L.', () => [[{ space: 'old' }, 3] as const]));
    registry.add(new ReadCounter('c_total', 'C.', () => cpu));
    const first = registry.render();
    expect(first).toContain('# HELP g a \\\\ and a\\nnewline\n');
    expect(first).toContain('\ng +Inf\n');
    expect(first).toContain('\nl{space="old"} 3\n');
    cpu = 2.5;
    expect(parsePrometheusText(registry.render()).get('c_total')?.samples[0]?.value).toBe(2.5);
  });
});

describe('what the webhook exports, read by a strict text-format parser', () => {
  const T0 = new Date('2026-11-23T02:00:00.000Z');
  let now = T0;
  let metrics: WebhookMetrics;

  beforeAll(async () => {
    const signer = newSigner();
    const signed = await signedAllowlist(signer, [admitted('prod/api', 1)], {
      sequence: 7,
      now: T0,
      validityMs: 86_400_000,
    });
    const holder = new AllowlistHolder({
      source: {
        location: 'memory',
        fetch: async () => ({
          status: 'fetched',
          document: signed.document,
          bundle: signed.bundle,
        }),
      },
      publicKeyPem: await signer.publicKeyPem(),
      tags: false,
      clock: () => now,
    });
    metrics = new WebhookMetrics(holder, () => now);
    metrics.refreshed(await holder.refresh());
    metrics.reviewed('denied', 'NOT_PINNED', 'enforce', [], 0.002);
  });
  afterAll(() => metrics.close());

  const scrape = () => parsePrometheusText(metrics.registry.render());
  const value = (name: string) => scrape().get(name)?.samples[0]?.value;

  it('parses, every name under one one-word prefix or prom-client’s process_/nodejs_', () => {
    const families = scrape();
    for (const [name, family] of families) {
      expect(name).toMatch(/^(registrywatcher|process|nodejs)_[a-z0-9_]+$/);
      if (family.type === 'counter') expect(name).toMatch(/_total$/);
      // Units in the name are base units (seconds, bytes), never ms or kb.
      expect(name).not.toMatch(/_(milliseconds|ms|kb|kilobytes|percent)(_|$)/);
    }
  });

  it('exports timestamps, not ages: the values do not move as time passes', () => {
    const before = scrape();
    now = new Date(T0.getTime() + 3_600_000);
    const after = scrape();
    for (const name of [
      'registrywatcher_allowlist_generated_timestamp_seconds',
      'registrywatcher_allowlist_valid_until_timestamp_seconds',
      'registrywatcher_allowlist_last_success_timestamp_seconds',
    ]) {
      expect(after.get(name)?.samples).toEqual(before.get(name)?.samples);
    }
    expect(value('registrywatcher_allowlist_generated_timestamp_seconds')).toBe(
      T0.getTime() / 1000,
    );
    expect(value('registrywatcher_allowlist_valid_until_timestamp_seconds')).toBe(
      T0.getTime() / 1000 + 86_400,
    );
    expect(value('registrywatcher_allowlist_last_success_timestamp_seconds')).toBe(
      T0.getTime() / 1000,
    );
    expect([...after.keys()].filter((n) => /_age_/.test(n))).toEqual([]);
    now = T0;
  });

  it('a build_info gauge carries the package version', () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(scrape().get('registrywatcher_build_info')).toMatchObject({
      type: 'gauge',
      samples: [{ labels: { version, nodejs_version: process.version }, value: 1 }],
    });
  });

  it('process and Node.js metrics under prom-client’s names, types and units', () => {
    const families = scrape();
    const expected: [string, string][] = [
      ['process_cpu_user_seconds_total', 'counter'],
      ['process_cpu_system_seconds_total', 'counter'],
      ['process_cpu_seconds_total', 'counter'],
      ['process_start_time_seconds', 'gauge'],
      ['process_resident_memory_bytes', 'gauge'],
      ['process_virtual_memory_bytes', 'gauge'],
      ['process_heap_bytes', 'gauge'],
      ['process_open_fds', 'gauge'],
      ['process_max_fds', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
      ['nodejs_eventloop_lag_min_seconds', 'gauge'],
      ['nodejs_eventloop_lag_max_seconds', 'gauge'],
      ['nodejs_eventloop_lag_mean_seconds', 'gauge'],
      ['nodejs_eventloop_lag_stddev_seconds', 'gauge'],
      ['nodejs_eventloop_lag_p50_seconds', 'gauge'],
      ['nodejs_eventloop_lag_p90_seconds', 'gauge'],
      ['nodejs_eventloop_lag_p99_seconds', 'gauge'],
      ['nodejs_active_resources', 'gauge'],
      ['nodejs_active_resources_total', 'gauge'],
      ['nodejs_heap_size_total_bytes', 'gauge'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
      ['nodejs_external_memory_bytes', 'gauge'],
      ['nodejs_heap_space_size_total_bytes', 'gauge'],
      ['nodejs_heap_space_size_used_bytes', 'gauge'],
      ['nodejs_heap_space_size_available_bytes', 'gauge'],
      ['nodejs_version_info', 'gauge'],
      ['nodejs_gc_duration_seconds', 'histogram'],
    ];
    for (const [name, type] of expected)
      expect([name, families.get(name)?.type]).toEqual([name, type]);
    const start = value('process_start_time_seconds') ?? 0;
    expect(Math.abs(start - (T0.getTime() / 1000 - process.uptime()))).toBeLessThan(2);
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(1_000_000);
    expect(
      families.get('nodejs_heap_space_size_used_bytes')?.samples.map((s) => s.labels.space),
    ).toContain('old');
    const [major] = process.versions.node.split('.');
    expect(families.get('nodejs_version_info')?.samples[0]?.labels).toMatchObject({
      version: process.version,
      major,
    });
  });

  it('CPU counters only go up, and GC pauses land in the histogram by kind', async () => {
    const first = value('process_cpu_seconds_total') ?? 0;
    let spin = 0;
    for (let i = 0; i < 2_000_000; i++) spin += i % 7;
    expect(spin).toBeGreaterThan(0);
    // Allocate enough that V8 collects at least once (minor GC), then let the observer run.
    const garbage: unknown[] = [];
    for (let i = 0; i < 200_000; i++) garbage.push({ i, s: `x${i}` });
    garbage.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(value('process_cpu_seconds_total')).toBeGreaterThan(first);
    const gc = scrape().get('nodejs_gc_duration_seconds');
    const counts = gc?.samples.filter((s) => s.name.endsWith('_count')) ?? [];
    expect(counts.length).toBeGreaterThan(0);
    for (const c of counts)
      expect(['major', 'minor', 'incremental', 'weakcb']).toContain(c.labels.kind);
  });
});
