/**
 * A strict reader of the Prometheus text exposition format 0.0.4, after
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-format-details
 * (and the `expfmt` text parser's checks). It throws on anything a scrape would reject or
 * that the format forbids: bad names, escapes or numbers, a sample before its TYPE, a
 * family split in two, duplicate series, histograms without `+Inf` or not cumulative.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

export class ExpositionError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
// Go's strconv.ParseFloat as the Prometheus parser uses it, minus hex floats.
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[iI][nN][fF](?:inity)?|NaN)$/;

/** Families by name, in the order they appear. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith('\n')) {
    throw new ExpositionError(text.split('\n').length, 'the last line must end with a newline');
  }
  const families = new Map<string, MetricFamily>();
  const closed = new Set<string>();
  let current: MetricFamily | undefined;
  const seen = new Set<string>();
  const typed = new Set<string>();
  const lines = text.split('\n');
  lines.pop();

  const open = (name: string, n: number): MetricFamily => {
    if (closed.has(name)) throw new ExpositionError(n, `${name} appears in two groups`);
    let family = families.get(name);
    if (family === undefined) {
      family = { name, type: 'untyped', samples: [] };
      families.set(name, family);
    }
    if (current && current !== family) closed.add(current.name);
    current = family;
    return family;
  };

  lines.forEach((raw, i) => {
    const n = i + 1;
    if (raw.includes('\r')) throw new ExpositionError(n, 'carriage return in a line');
    const line = raw.replace(/^[ \t]+/, '');
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (!m) return; // an ordinary comment
      const [, keyword, name = '', rest = ''] = m;
      if (!METRIC_NAME.test(name)) throw new ExpositionError(n, `bad metric name ${name}`);
      const family = open(name, n);
      if (family.samples.length > 0) {
        throw new ExpositionError(n, `${keyword} for ${name} after its samples`);
      }
      if (keyword === 'HELP') {
        if (family.help !== undefined) throw new ExpositionError(n, `second HELP for ${name}`);
        family.help = unescapeHelp(rest, n);
      } else {
        if (!TYPES.has(rest.trim() as MetricType)) {
          throw new ExpositionError(n, `unknown type "${rest}" for ${name}`);
        }
        if (typed.has(name)) throw new ExpositionError(n, `second TYPE for ${name}`);
        family.type = rest.trim() as MetricType;
        typed.add(name);
      }
      return;
    }
    const sample = parseSample(line, n);
    const familyName = familyOf(sample.name, families);
    const family = familyName === current?.name ? current : open(familyName, n);
    checkSample(family, sample, n);
    const id = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(id)) throw new ExpositionError(n, `duplicate series ${sample.name}`);
    seen.add(id);
    family.samples.push(sample);
  });
  for (const family of families.values()) {
    if (family.type === 'histogram') checkHistogram(family);
  }
  return families;
}

/** The family a sample belongs to: `x_bucket`, `x_sum`, `x_count` belong to histogram `x`. */
function familyOf(name: string, families: Map<string, MetricFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const family = families.get(base);
    const typed = family?.type === 'histogram' || family?.type === 'summary';
    if (typed && (suffix !== '_bucket' || family?.type === 'histogram')) return base;
  }
  return name;
}

function parseSample(line: string, n: number): Sample {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
  if (!name) throw new ExpositionError(n, `not a sample: ${line}`);
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at += 1;
    for (;;) {
      while (line[at] === ' ' || line[at] === '\t') at += 1;
      if (line[at] === '}') break;
      const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(at))?.[0];
      if (!labelName) throw new ExpositionError(n, `bad label name at column ${at + 1}`);
      if (labelName.startsWith('__')) throw new ExpositionError(n, `reserved label ${labelName}`);
      if (Object.hasOwn(labels, labelName)) {
        throw new ExpositionError(n, `label ${labelName} given twice`);
      }
      at += labelName.length;
      while (line[at] === ' ' || line[at] === '\t') at += 1;
      if (line[at] !== '=') throw new ExpositionError(n, `expected = after ${labelName}`);
      at += 1;
      while (line[at] === ' ' || line[at] === '\t') at += 1;
      if (line[at] !== '"') throw new ExpositionError(n, `label value of ${labelName} not quoted`);
      at += 1;
      let value = '';
      for (;;) {
        const c = line[at];
        if (c === undefined) throw new ExpositionError(n, `unterminated value of ${labelName}`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[at + 1];
          if (e === '\\') value += '\\';
          else if (e === '"') value += '"';
          else if (e === 'n') value += '\n';
          else throw new ExpositionError(n, `bad escape \\${e ?? ''} in ${labelName}`);
          at += 2;
        } else {
          value += c;
          at += 1;
        }
      }
      at += 1;
      Object.defineProperty(labels, labelName, { value, enumerable: true });
      while (line[at] === ' ' || line[at] === '\t') at += 1;
      if (line[at] === ',') at += 1;
      else if (line[at] !== '}') throw new ExpositionError(n, `expected , or } after ${labelName}`);
    }
    at += 1;
  }
  const rest = line.slice(at);
  if (!/^[ \t]/.test(rest)) throw new ExpositionError(n, `no space before the value: ${line}`);
  const parts = rest.trim().split(/[ \t]+/);
  if (parts.length > 2) throw new ExpositionError(n, `text after the timestamp: ${line}`);
  const [valueText = '', timestampText] = parts;
  if (!FLOAT.test(valueText)) throw new ExpositionError(n, `bad value ${valueText}`);
  const value = /inf/i.test(valueText)
    ? valueText.startsWith('-')
      ? Number.NEGATIVE_INFINITY
      : Number.POSITIVE_INFINITY
    : Number(valueText);
  if (timestampText !== undefined && !/^-?\d+$/.test(timestampText)) {
    throw new ExpositionError(n, `bad timestamp ${timestampText}`);
  }
  return {
    name,
    labels,
    value,
    ...(timestampText !== undefined && { timestamp: Number(timestampText) }),
  };
}

function checkSample(family: MetricFamily, sample: Sample, n: number): void {
  const { type } = family;
  const suffix = sample.name.slice(family.name.length);
  if (type === 'histogram' || type === 'summary') {
    const allowed = type === 'histogram' ? ['_bucket', '_sum', '_count'] : ['', '_sum', '_count'];
    if (!allowed.includes(suffix)) {
      throw new ExpositionError(n, `${sample.name} does not belong to ${type} ${family.name}`);
    }
    if (type === 'histogram' && suffix === '_bucket' && !('le' in sample.labels)) {
      throw new ExpositionError(n, `${sample.name} without le`);
    }
    if (type === 'histogram' && suffix !== '_bucket' && 'le' in sample.labels) {
      throw new ExpositionError(n, `${sample.name} with le`);
    }
    if (type === 'summary' && suffix === '' && !('quantile' in sample.labels)) {
      throw new ExpositionError(n, `${sample.name} without quantile`);
    }
  } else if ('le' in sample.labels && type !== 'untyped') {
    // le and quantile are the histogram's and summary's own.
    throw new ExpositionError(n, `le on ${type} ${sample.name}`);
  }
  if (type === 'counter' && !(sample.value >= 0)) {
    throw new ExpositionError(n, `counter ${sample.name} is ${sample.value}`);
  }
}

function checkHistogram(family: MetricFamily): void {
  const groups = new Map<string, Sample[]>();
  for (const s of family.samples) {
    const { le: _, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const [key, samples] of groups) {
    const where = `${family.name}${key === '[]' ? '' : key}`;
    const buckets = samples
      .filter((s) => s.name.endsWith('_bucket'))
      .map((s) => ({ le: leOf(s, where), value: s.value }))
      .sort((a, b) => a.le - b.le);
    const inf = buckets.at(-1);
    if (inf?.le !== Number.POSITIVE_INFINITY)
      throw new ExpositionError(0, `${where}: no +Inf bucket`);
    for (let i = 1; i < buckets.length; i++) {
      if ((buckets[i]?.value ?? 0) < (buckets[i - 1]?.value ?? 0)) {
        throw new ExpositionError(0, `${where}: buckets not cumulative`);
      }
    }
    const count = samples.find((s) => s.name.endsWith('_count'));
    if (!count || !samples.some((s) => s.name.endsWith('_sum'))) {
      throw new ExpositionError(0, `${where}: no _sum or _count`);
    }
    if (count.value !== inf.value) {
      throw new ExpositionError(0, `${where}: _count ${count.value} != +Inf bucket ${inf.value}`);
    }
  }
}

function leOf(sample: Sample, where: string): number {
  const le = sample.labels.le ?? '';
  if (!FLOAT.test(le) || le === 'NaN') throw new ExpositionError(0, `${where}: bad le "${le}"`);
  return /inf/i.test(le) ? Number.POSITIVE_INFINITY : Number(le);
}

function unescapeHelp(text: string, n: number): string {
  return text.replace(/\\(.?)/g, (_, e: string) => {
    if (e === '\\') return '\\';
    if (e === 'n') return '\n';
    throw new ExpositionError(n, `bad escape \\${e} in HELP`);
  });
}
