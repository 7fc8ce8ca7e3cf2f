/**
 * Time to gate: from "verdict written" (the evaluate handler's conditional write to
 * dynalite returned) to "admitted by both webhook replicas", through the real path in real
 * time on loopback: the stream shard as Lambda's event source delivers it (polled 4×/s,
 * maxBatchingWindow, batches of 100, one at a time) → `changes` (SNS on loopback, markers in
 * dynalite) → the SQS FIFO rebuild queue (delivery delay, deduplication ids, one group,
 * reserved concurrency 1) → `allowlist` (GSI query, sequence, signature, conditional S3
 * write to s3rver) → two bundled webhook replicas polling S3 with If-None-Match. dynalite
 * and s3rver run in their own processes (remote services), the replicas in theirs. A replica
 * admits a digest from the moment it logs the swap to a document holding it; each swap is
 * confirmed by an admission review of those digests to that replica.
 *
 * Phases, for today's settings and the new ones in one run: verdicts spread over time
 * (exponential gaps), then a burst of 1,000. `npm run bench -- time-to-gate [spread=50]
 * [burst=1000] [baseline=1000]`. Runs about 5 minutes; nothing is scaled.
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWebhook } from '../cluster/build';
import { makeTls, newSigner } from '../test/support/cluster';
import { seeded } from '../test/support/fault-proxy';
import { startDynaliteProcess } from './support/dynalite-process';
import { sleep } from './support/fifo-queue';
import {
  GatePipeline,
  type GateSettings,
  type GatePipeline as Pipeline,
} from './support/gate-pipeline';
import { fmt } from './support/measure';

const TARGET_MS = 10_000;

/** infra/publication.ts and the webhook defaults before issue 16. */
const TODAY: GateSettings = {
  label: 'today',
  streamWindowMs: 1_000,
  parallelization: 1,
  minIntervalMs: 0,
  debounceMs: 30_000,
  refreshMs: 30_000,
};

/** The settings this change deploys. */
const NEW: GateSettings = {
  label: 'new',
  streamWindowMs: 1_000,
  parallelization: 10,
  minIntervalMs: 3_000,
  debounceMs: 1_000,
  refreshMs: 2_000,
};

interface PhaseFigures {
  verdicts: number;
  p50: number;
  p99: number;
  max: number;
  unsettled: number;
  minutes: number;
  publishes: number;
  /** Median time from the start of a build to its S3 write. */
  buildMs: number;
  putBytes: number;
  getBytes: number;
  reviewP99: number;
  /** Longest event-loop delay inside either replica over the phase. */
  loopMaxMs: number;
  refused: number;
}

export async function run(args: string[] = []): Promise<void> {
  const spread = Number(args[0] ?? 50);
  const burst = Number(args[1] ?? 1000);
  const baseline = Number(args[2] ?? 1000);
  const dir = mkdtempSync(join(tmpdir(), 'rw-bench-gate-'));
  const bundle = join(dir, 'webhook.js');
  await bundleWebhook(bundle);
  const tls = makeTls();
  const dynamo = await startDynaliteProcess();
  const signer = newSigner();
  const pipelines = [TODAY, NEW].map((s) => new GatePipeline(s, dynamo, signer, tls));
  const figures: Record<string, PhaseFigures> = {};
  try {
    for (const p of pipelines) await p.start(bundle, dir, baseline);
    console.log(
      `baseline ${baseline} admitted digests; 2 webhook replicas per deployment; ${describe(TODAY)} | ${describe(NEW)}; load average ${loadavg()[0]?.toFixed(1)} at start`,
    );

    // Spread: both deployments at once, each its own exponential gaps (mean 1.2 s).
    await Promise.all(pipelines.map((p) => p.loopDelayMaxMs()));
    const marks = pipelines.map((p) => mark(p));
    await Promise.all(
      pipelines.map(async (p, i) => {
        const random = seeded(16 + i);
        for (let n = 0; n < spread; n++) {
          await p.verdicts(1);
          await sleep(Math.min(6_000, -Math.log(1 - random()) * 1_200));
        }
      }),
    );
    await Promise.all(pipelines.map((p) => p.settled(120_000)));
    progress('spread settled');
    for (const [i, p] of pipelines.entries()) {
      figures[`spread ${p.settings.label}`] = {
        ...phase(p, marks[i] as Mark),
        loopMaxMs: await p.loopDelayMaxMs(),
      };
    }

    // Burst: one deployment at a time, 1,000 evaluations in batches of 10, 5 invocations at once.
    for (const p of [...pipelines].reverse()) {
      await p.loopDelayMaxMs();
      const m = mark(p);
      await p.verdicts(burst, 5);
      progress(`burst ${p.settings.label} written`);
      await p.settled(180_000);
      progress(`burst ${p.settings.label} settled`);
      figures[`burst ${p.settings.label}`] = {
        ...phase(p, m),
        loopMaxMs: await p.loopDelayMaxMs(),
      };
    }

    console.log(
      'phase   settings  verdicts   p50 s   p99 s   max s  unsettled  publishes  per min  build med s  S3 PUT MB/min  S3 GET MB/min  review p99 ms  loop max ms  refused',
    );
    for (const [name, f] of Object.entries(figures)) {
      const [kind, label] = name.split(' ');
      console.log(
        `${(kind ?? '').padEnd(7)} ${(label ?? '').padEnd(9)} ${String(f.verdicts).padStart(8)} ${fmt(f.p50 / 1000).padStart(7)} ${fmt(f.p99 / 1000).padStart(7)} ${fmt(f.max / 1000).padStart(7)} ${String(f.unsettled).padStart(10)} ${String(f.publishes).padStart(10)} ${fmt(f.publishes / f.minutes, 1).padStart(8)} ${fmt(f.buildMs / 1000).padStart(12)} ${fmt(f.putBytes / 1e6 / f.minutes).padStart(14)} ${fmt(f.getBytes / 1e6 / f.minutes).padStart(14)} ${fmt(f.reviewP99, 1).padStart(14)} ${fmt(f.loopMaxMs, 1).padStart(12)} ${String(f.refused).padStart(8)}`,
      );
    }
    for (const p of pipelines) {
      const c = p.counts;
      console.log(
        `${p.settings.label}: ${c.streamInvocations} changes invocations, ${c.announced} SNS events, ${c.rebuildsSent} rebuild messages (${c.rebuildsDeduplicated} deduplicated), ${p.publications.size} publications; replicas: ${p.replicas.map((r) => `${r.swaps} swaps, ${r.confirmed} confirmed, ${r.refused} refused, ${r.resets} resets`).join(' / ')}`,
      );
    }
    const worst = (label: string) =>
      Math.max(
        figures[`spread ${label}`]?.p99 ?? Number.NaN,
        figures[`burst ${label}`]?.p99 ?? Number.NaN,
      );
    console.log(`load average ${loadavg()[0]?.toFixed(1)} at the end`);
    console.log(
      `ratio ${fmt(worst('new') / TARGET_MS)} (new p99 ${fmt(worst('new') / 1000)} s, the worse of spread and burst, / 10 s; today ${fmt(worst('today') / 1000)} s)`,
    );
  } finally {
    for (const p of pipelines) await p.stop().catch(() => undefined);
    await dynamo.stop();
  }
}

const started = Date.now();
function progress(what: string): void {
  process.stderr.write(`  [${((Date.now() - started) / 1000).toFixed(0)} s] ${what}\n`);
}

function describe(s: GateSettings): string {
  return `${s.label}: stream window ${s.streamWindowMs / 1000} s × ${s.parallelization} batches per shard, rebuild debounce ${s.debounceMs / 1000} s (FIFO delivery delay), publications ≥ ${s.minIntervalMs / 1000} s apart, webhook refresh ${s.refreshMs / 1000} s ±10 %`;
}

interface Mark {
  written: Set<string>;
  publications: Set<number>;
  reviews: number[];
  refused: number[];
  bytesRead: number[];
}

function mark(p: Pipeline): Mark {
  return {
    written: new Set(p.writtenAt.keys()),
    publications: new Set(p.publications.keys()),
    reviews: p.replicas.map((r) => r.reviewMs.length),
    refused: p.replicas.map((r) => r.refused),
    bytesRead: p.replicas.map((r) => r.bytesRead),
  };
}

/** Latencies of the digests written since the mark; S3 traffic over the same time. */
function phase(p: Pipeline, since: Mark): Omit<PhaseFigures, 'loopMaxMs'> {
  const latencies: number[] = [];
  let unsettled = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const [digest, written] of p.writtenAt) {
    if (since.written.has(digest)) continue;
    first = Math.min(first, written);
    const times = p.replicas.map((r) => r.admittedAt.get(digest));
    if (times.some((t) => t === undefined)) {
      unsettled += 1;
      continue;
    }
    const both = Math.max(...(times as number[]));
    last = Math.max(last, both);
    latencies.push(both - written);
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  const published = [...p.publications.values()].filter((x) => !since.publications.has(x.sequence));
  const reviews = p.replicas.flatMap((r, i) => r.reviewMs.slice(since.reviews[i]));
  reviews.sort((a, b) => a - b);
  return {
    verdicts: latencies.length + unsettled,
    p50: at(0.5),
    p99: at(0.99),
    max: latencies[latencies.length - 1] ?? Number.NaN,
    unsettled,
    minutes: Math.max(1e-9, (last - first) / 60_000),
    publishes: published.length,
    buildMs: median(published.map((x) => x.buildMs)),
    putBytes: published.reduce((sum, x) => sum + x.bytes, 0),
    getBytes: p.replicas.reduce((sum, r, i) => sum + r.bytesRead - (since.bytesRead[i] ?? 0), 0),
    reviewP99: reviews[Math.min(reviews.length - 1, Math.floor(0.99 * reviews.length))] ?? 0,
    refused: p.replicas.reduce((sum, r, i) => sum + r.refused - (since.refused[i] ?? 0), 0),
  };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
