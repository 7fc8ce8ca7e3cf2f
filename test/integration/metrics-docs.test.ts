import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import {
  admitted,
  digest,
  ECR,
  get,
  newSigner,
  post,
  reviewWith,
  signedAllowlist,
  startTestWebhook,
  type TestWebhook,
} from '../support/cluster';
import { type MetricFamily, parsePrometheusText } from '../support/prometheus-text';

// The docs against what a running webhook serves, not against the code that serves it.
const DOC = readFileSync(join(__dirname, '../../docs/enforcement.md'), 'utf8');

interface DocumentedMetric {
  type: string;
  labels: string[];
}

/** Rows of every `| metric | type | labels | what |` table in the doc. */
function documentedMetrics(doc: string): Map<string, DocumentedMetric> {
  const metrics = new Map<string, DocumentedMetric>();
  let inTable = false;
  for (const line of doc.split('\n')) {
    if (line.startsWith('| metric | type | labels |')) inTable = true;
    else if (!line.startsWith('|')) inTable = false;
    else if (inTable && !line.startsWith('| ---')) {
      const [, name = '', type = '', labels = ''] = line.split('|').map((c) => c.trim());
      const metric = /^`([^`]+)`$/.exec(name)?.[1];
      if (!metric) throw new Error(`metric row without a name: ${line}`);
      if (metrics.has(metric)) throw new Error(`${metric} listed twice`);
      metrics.set(metric, {
        type,
        labels: [...labels.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string).sort(),
      });
    }
  }
  return metrics;
}

const RuleFile = z
  .object({
    groups: z.array(
      z
        .object({
          name: z.string().min(1),
          rules: z.array(
            z
              .object({
                alert: z.string().regex(/^[A-Z][A-Za-z]+$/),
                expr: z.string().min(1),
                for: z
                  .string()
                  .regex(/^\d+[smhd]$/)
                  .optional(),
                labels: z.object({ severity: z.enum(['critical', 'warning', 'info']) }).strict(),
                annotations: z.object({ summary: z.string().min(1) }).strict(),
              })
              .strict(),
          ),
        })
        .strict(),
    ),
  })
  .strict();

function alertRules(doc: string) {
  const section = doc.slice(doc.indexOf('### Example alert rules'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('no yaml block under "Example alert rules"');
  return RuleFile.parse(parseYaml(block)).groups.flatMap((g) => g.rules);
}

interface Selector {
  metric: string;
  labels: string[];
}

// An ES module with a CommonJS build: TypeScript (node16, CommonJS here) needs import().
const loadPromql = async () => (await import('@prometheus-io/lezer-promql')).parser;
let promql: Awaited<ReturnType<typeof loadPromql>>;

/** Parses with Prometheus' PromQL grammar; throws at a syntax error. */
function selectors(expr: string): Selector[] {
  const found: Selector[] = [];
  const tree = promql.parse(expr);
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError) {
      throw new Error(`PromQL syntax error at ${cursor.from} in: ${expr}`);
    }
    if (cursor.name === 'VectorSelector') {
      const node = cursor.node;
      const id = node.getChild('Identifier');
      const labels: string[] = [];
      node
        .getChild('LabelMatchers')
        ?.cursor()
        .iterate((n) => {
          if (n.name === 'LabelName') labels.push(expr.slice(n.from, n.to));
        });
      if (id) found.push({ metric: expr.slice(id.from, id.to), labels });
    }
  } while (cursor.next());
  return found;
}

let hook: TestWebhook;
let families: Map<string, MetricFamily>;

beforeAll(async () => {
  promql = await loadPromql();
  const signer = newSigner();
  hook = await startTestWebhook(
    await signedAllowlist(signer, [admitted('prod/api', 1, { tags: ['1.4.2'] })]),
    { resolveTags: true },
    { signer },
  );
  // Traffic so that every family has a series to check labels on: an admitted and a denied
  // review, a tag pinned by /mutate, a rejected allowlist, a failed TLS reload, and garbage
  // for the GC histogram.
  const review = (path: string, image: string) =>
    post(
      hook.url(path),
      reviewWith('k8s/admission-review-pod', { containers: [image] }),
      hook.tls.ca,
    );
  await review('/validate', `${ECR}/prod/api@${digest(1)}`);
  await review('/validate', `${ECR}/prod/api@${digest(2)}`);
  const mutated = await review('/mutate', `${ECR}/prod/api:1.4.2`);
  expect(mutated.body.response.patch).toBeDefined();
  writeFileSync(hook.allowlistFile, '{ not json');
  await hook.refresh();
  hook.tls.reissue(join(hook.tls.dir, 'other.crt'), hook.tls.keyFile);
  await hook.webhook.reloadTls();
  // The lag gauge shows what the previous scrape measured: scrape until it and the GC
  // histogram have samples.
  for (let attempt = 0; attempt < 20; attempt++) {
    let garbage = 0;
    for (let i = 0; i < 200_000; i++) garbage += [i, i + 1].length;
    expect(garbage).toBe(400_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const { body } = await get(hook.url('/metrics'), hook.tls.ca);
    families = parsePrometheusText(body);
    const shown = (name: string) => (families.get(name)?.samples.length ?? 0) > 0;
    if (shown('nodejs_gc_duration_seconds') && shown('nodejs_eventloop_lag_seconds')) break;
  }
});
afterAll(() => hook.close());

describe('docs/enforcement.md metric tables against /metrics of a running webhook', () => {
  const documented = documentedMetrics(DOC);

  it('list exactly the families /metrics exports', () => {
    expect([...documented.keys()].sort()).toEqual([...families.keys()].sort());
  });

  it('give each its type', () => {
    for (const [name, family] of families) {
      expect({ name, type: documented.get(name)?.type }).toEqual({ name, type: family.type });
    }
  });

  it('name the labels of every series', () => {
    const unlabelledSeries: string[] = [];
    for (const [name, family] of families) {
      const want = documented.get(name)?.labels ?? [];
      if (family.samples.length === 0) unlabelledSeries.push(name);
      for (const sample of family.samples) {
        const got = Object.keys(sample.labels)
          .filter((l) => !(family.type === 'histogram' && l === 'le'))
          .sort();
        expect({ series: sample.name, labels: got }).toEqual({ series: sample.name, labels: want });
      }
    }
    // Every documented family showed at least one series, so each row above was checked.
    expect(unlabelledSeries).toEqual([]);
  });
});

describe('the example alert rules', () => {
  const documented = documentedMetrics(DOC);
  const rules = alertRules(DOC);

  it('are a rule file with unique alert names', () => {
    expect(rules.length).toBeGreaterThanOrEqual(8);
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it.each(rules.map((r) => [r.alert, r.expr] as const))(
    '%s: parses as PromQL and names only exported metrics and their labels',
    (_alert, expr) => {
      const used = selectors(expr);
      expect(used.length).toBeGreaterThan(0);
      for (const { metric, labels } of used) {
        const histogram = /^(.*)_(bucket|sum|count)$/.exec(metric);
        const base =
          histogram && documented.get(histogram[1] as string)?.type === 'histogram'
            ? (histogram[1] as string)
            : metric;
        const family = documented.get(base);
        expect({ metric, exported: families.has(base) }).toEqual({ metric, exported: true });
        const allowed = [...(family?.labels ?? []), ...(histogram?.[2] === 'bucket' ? ['le'] : [])];
        for (const label of labels)
          expect({ metric, label, allowed }).toEqual({
            metric,
            label,
            allowed: expect.arrayContaining([label]),
          });
      }
    },
  );

  it('the PromQL check rejects what Prometheus would', () => {
    expect(() => selectors('rate(registrywatcher_tls_reloads_total[5m] > 0')).toThrow(/syntax/);
    expect(selectors('sum by (le) (rate(x_bucket{le="1",a=~"b"}[5m]))')).toEqual([
      { metric: 'x_bucket', labels: ['le', 'a'] },
    ]);
  });
});
