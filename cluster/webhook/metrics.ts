/**
 * A small Prometheus registry: counters with labels, gauges read at scrape time, one
 * histogram. Text exposition format 0.0.4.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

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

export class Counter implements Family {
  readonly type = 'counter';
  private readonly values = new Map<string, number>();
  /**
   * Label sets seen so far, walked name by value: label names and values are mostly
   * constants whose hash V8 keeps, so `inc` builds no string and allocates nothing once a
   * set has been seen.
   */
  private readonly keys: LabelNode = { next: new Map() };

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = this.key(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(this.key(labels)) ?? 0;
  }

  private key(labels: Labels): string {
    let node = this.keys;
    for (const name in labels) node = step(step(node, name), labels[name] as string);
    node.key ??= formatLabels(labels);
    return node.key;
  }

  render(): string[] {
    return [...this.values].map(([labels, value]) => `${this.name}${labels} ${value}`);
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
    return value === undefined || Number.isNaN(value) ? [] : [`${this.name} ${value}`];
  }
}

export class Histogram implements Family {
  readonly type = 'histogram';
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count += 1;
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= (this.buckets[i] as number)) this.counts[i] = (this.counts[i] as number) + 1;
    }
  }

  render(): string[] {
    return [
      ...this.buckets.map((le, i) => `${this.name}_bucket{le="${le}"} ${this.counts[i]}`),
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${this.sum}`,
      `${this.name}_count ${this.count}`,
    ];
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
      lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.render());
    }
    return `${lines.join('\n')}\n`;
  }
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
