/**
 * A small Prometheus registry: counters with labels, gauges read at scrape time,
 * histograms. Text exposition format 0.0.4.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Record<string, string>;

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
}

/** One step of a label set (a name, then its value); the formatted set where it ends. */
interface LabelNode {
  readonly next: Map<string, LabelNode>;
  key?: string;
}

/**
 * Label sets seen so far, walked name by value: label names and values are mostly
 * constants whose hash V8 keeps, so a lookup builds no string and allocates nothing once
 * a set has been seen.
 */
class LabelKeys {
  private readonly root: LabelNode = { next: new Map() };

  of(labels: Labels): string {
    let node = this.root;
    for (const name in labels) node = step(step(node, name), labels[name] as string);
    node.key ??= formatLabels(labels);
    return node.key;
  }
}

export class Counter implements Family {
  readonly type = 'counter';
  private readonly values = new Map<string, number>();
  private readonly keys = new LabelKeys();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = this.keys.of(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(this.keys.of(labels)) ?? 0;
  }

  render(): string[] {
    return [...this.values].map(([labels, value]) => `${this.name}${labels} ${number(value)}`);
  }
}

/** A gauge whose value is read when scraped; `undefined` leaves the sample out. */
export class Gauge implements Family {
  readonly type = 'gauge';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number | undefined,
  ) {}

  render(): string[] {
    const value = this.read();
    return value === undefined || Number.isNaN(value) ? [] : [`${this.name} ${number(value)}`];
  }
}

/** A counter kept by someone else (the kernel's CPU time): its total is read when scraped. */
export class ReadCounter implements Family {
  readonly type = 'counter';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string[] {
    return [`${this.name} ${number(this.read())}`];
  }
}

/** A gauge with one sample per label set, all read when scraped. */
export class LabelledGauge implements Family {
  readonly type = 'gauge';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => Iterable<readonly [Labels, number]>,
  ) {}

  render(): string[] {
    const lines: string[] = [];
    for (const [labels, value] of this.read()) {
      lines.push(`${this.name}${formatLabels(labels)} ${number(value)}`);
    }
    return lines;
  }
}

interface Series {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram implements Family {
  readonly type = 'histogram';
  private readonly series = new Map<string, Series>();
  private readonly keys = new LabelKeys();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    /** Series come with labels: none is shown before the first observation. */
    private readonly labelled = false,
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const key = this.keys.of(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    s.sum += value;
    s.count += 1;
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= (this.buckets[i] as number)) s.counts[i] = (s.counts[i] as number) + 1;
    }
  }

  render(): string[] {
    // An unobserved unlabelled histogram still shows its (zero) series, as client libraries do.
    const all = this.series.size > 0 || this.labelled ? this.series : new Map([['', undefined]]);
    return [...all].flatMap(([labels, s]) => {
      const le = (bound: string) =>
        labels === '' ? `{le="${bound}"}` : `${labels.slice(0, -1)},le="${bound}"}`;
      return [
        ...this.buckets.map((b, i) => `${this.name}_bucket${le(number(b))} ${s?.counts[i] ?? 0}`),
        `${this.name}_bucket${le('+Inf')} ${s?.count ?? 0}`,
        `${this.name}_sum${labels} ${number(s?.sum ?? 0)}`,
        `${this.name}_count${labels} ${s?.count ?? 0}`,
      ];
    });
  }
}

export class Registry {
  private readonly families: Family[] = [];

  add<F extends Family>(family: F): F {
    this.families.push(family);
    return family;
  }

  render(): string {
    const lines: string[] = [];
    for (const f of this.families) {
      const help = f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
      lines.push(`# HELP ${f.name} ${help}`, `# TYPE ${f.name} ${f.type}`, ...f.render());
    }
    return `${lines.join('\n')}\n`;
  }
}

/** Go's float syntax as Prometheus reads it: `+Inf`, `-Inf`, `NaN`. */
function number(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function step(node: LabelNode, part: string): LabelNode {
  let next = node.next.get(part);
  if (next === undefined) {
    next = { next: new Map() };
    node.next.set(part, next);
  }
  return next;
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const body = entries
    .map(
      ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`,
    )
    .join(',');
  return `{${body}}`;
}
