/**
 * Admission latency and throughput on loopback: the bundled webhook (what the image runs)
 * judging a Pod with 5 containers against a 100,000-digest allowlist, versus the floor:
 * the same Node HTTPS server (same TLS material, keep-alive) answering a fixed allow
 * response. Both servers run as child processes (nice -10 when allowed); this process
 * drives them: autocannon back-to-back on one connection and
 * flat out on 16, and a paced client at a steady 1,000 requests/s. Runs are interleaved in
 * rounds and reported as medians. Last, the webhook's own work per review, timed in this
 * process on the same body and allowlist without HTTP or TLS.
 *
 * `npm run bench -- webhook [seconds-per-run=2] [rounds=4] [connections=16]`
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { getPriority, loadavg, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { bundleWebhook } from '../cluster/build';
import { admissionReview } from '../cluster/webhook/admission-review';
import { admit } from '../cluster/webhook/admit';
import { AllowlistHolder } from '../cluster/webhook/allowlist-holder';
import { createAllowlistSource } from '../cluster/webhook/sources';
import { WebhookMetrics } from '../cluster/webhook/webhook-metrics';
import type { AdmittedImage } from '../shared/domain/allowlist';
import { systemClock } from '../shared/ports';
import {
  admitted,
  digest,
  ECR,
  makeTls,
  newSigner,
  post,
  reviewWith,
  signedAllowlist,
  writeWebhookFiles,
} from '../test/support/cluster';
import { fmt, medianMs } from './support/measure';

const REPOSITORIES = 1000;
const PER_REPOSITORY = 100;

/**
 * Back-to-back on one connection (latency without queueing), a steady 1,000 req/s (paced
 * here: autocannon's rate limit sends each second's budget in one burst), and flat out.
 */
const MODES: [string, { connections?: number; rate?: number }][] = [
  ['sequential', { connections: 1 }],
  ['1000/s', { rate: 1000 }],
  ['saturated', {}],
];

interface Run {
  rps: number;
  /** Requests answered per CPU-second the server used: its throughput on one core. */
  perCpuSecond?: number;
  p50: number;
  p99: number;
  errors: number;
}

const FLOOR_SERVER = `
const https = require('node:https');
const fs = require('node:fs');
const [certFile, keyFile] = process.argv.slice(2);
const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'fixed', allowed: true } });
const server = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), minVersion: 'TLSv1.2' }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 120000;
server.headersTimeout = 125000;
process.on('SIGINT', () => process.exit(0));
server.listen(0, '127.0.0.1', () => process.stderr.write('admission webhook on https://127.0.0.1:' + server.address().port + '\\n'));
`;

export async function run(args: string[] = []): Promise<void> {
  const seconds = Number(args[0] ?? 2);
  const rounds = Number(args[1] ?? 4);
  const connections = Number(args[2] ?? 16);
  const load1 = loadavg()[0] ?? Number.NaN;
  // The load generator gets the servers' priority too, so its own scheduling delays on a
  // shared machine do not swamp what it measures.
  try {
    setPriority(-10);
  } catch {}
  const dir = mkdtempSync(join(tmpdir(), 'rw-bench-webhook-'));
  const tls = makeTls();

  const images: AdmittedImage[] = [];
  for (let r = 0; r < REPOSITORIES; r++) {
    for (let d = 0; d < PER_REPOSITORY; d++) {
      images.push(
        admitted(`team-${r % 37}/service-${r}`, r * PER_REPOSITORY + d + 1, { tags: [`1.${d}`] }),
      );
    }
  }
  const signer = newSigner();
  const signed = await signedAllowlist(signer, images, { sequence: 1 });
  const digests = images.length;
  const megabytes = signed.document.length / 1e6;
  images.length = 0; // keep the load generator's heap small
  const webhookArgs = await writeWebhookFiles(dir, signer, signed, tls);
  writeFileSync(join(dir, 'floor.js'), FLOOR_SERVER);
  await bundleWebhook(join(dir, 'webhook.js'));

  const containers = [17, 211, 404, 650, 999].map(
    (r) => `${ECR}/team-${r % 37}/service-${r}@${digest(r * PER_REPOSITORY + 42)}`,
  );
  const review = reviewWith('k8s/admission-review-pod', { containers });
  const body = JSON.stringify(review);

  const pin = priority();
  const floor = await startServer([
    ...pin,
    process.execPath,
    join(dir, 'floor.js'),
    tls.certFile,
    tls.keyFile,
  ]);
  const webhook = await startServer(
    [...pin, process.execPath, join(dir, 'webhook.js'), ...webhookArgs],
    { POWERTOOLS_LOG_LEVEL: 'WARN' },
  );
  try {
    await waitReady(webhook.url, tls.ca);
    // The work is real: the Pod is admitted, and one changed digest is denied.
    const admittedAnswer = await post(`${webhook.url}/validate`, body, tls.ca);
    const denied = reviewWith('k8s/admission-review-pod', {
      containers: [...containers.slice(1), `${ECR}/team-0/service-0@${digest(999_999)}`],
    });
    const deniedAnswer = await post(`${webhook.url}/validate`, denied, tls.ca);
    if (
      admittedAnswer.body?.response?.allowed !== true ||
      deniedAnswer.body?.response?.allowed !== false
    ) {
      throw new Error(
        `webhook answers are wrong: ${JSON.stringify(admittedAnswer.body)} / ${JSON.stringify(deniedAnswer.body)}`,
      );
    }

    const results: Record<string, Run[]> = {};
    const record = (name: string, result: Run) => {
      results[name] ??= [];
      results[name].push(result);
    };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [floor, webhook] : [webhook, floor];
      for (const target of order) {
        const name = target === floor ? 'floor' : 'webhook';
        for (const [mode, options] of MODES) {
          const cpuBefore = cpuSeconds(target.process.pid);
          const result = await (options.rate
            ? paced(target.url, body, tls.ca, { seconds, connections, rate: options.rate })
            : load(target.url, body, tls.ca, { seconds, connections, ...options }));
          const cpu = cpuSeconds(target.process.pid) - cpuBefore;
          record(`${name} ${mode}`, { ...result, perCpuSecond: (result.rps * seconds) / cpu });
        }
      }
    }

    const m = (name: string, key: keyof Run) =>
      median((results[name] ?? []).map((r) => r[key] ?? Number.NaN));
    console.log(
      `allowlist: ${digests} digests in ${REPOSITORIES} repositories (${megabytes.toFixed(1)} MB); Pod with ${containers.length} containers; ` +
        `HTTPS keep-alive, ${connections} connections (1 when sequential), ${seconds}s per run, ${rounds} round(s), medians; servers run as \`${pin.join(' ') || 'node'}\`, load generator at nice ${getPriority()}; load average ${load1.toFixed(1)} at start`,
    );
    console.log('run                     req/s    p50 ms   p99 ms  req/CPU-s  errors');
    for (const name of MODES.flatMap(([mode]) => [`floor ${mode}`, `webhook ${mode}`])) {
      console.log(
        `${name.padEnd(21)} ${fmt(m(name, 'rps'), 0).padStart(7)}  ${fmt(m(name, 'p50'), 3).padStart(7)}  ${fmt(m(name, 'p99'), 3).padStart(7)}  ${fmt(m(name, 'perCpuSecond'), 0).padStart(9)}  ${m(name, 'errors')}`,
      );
    }
    const metrics = await getText(`${webhook.url}/metrics`, tls.ca);
    const sum = Number(/admission_duration_seconds_sum (\S+)/.exec(metrics)?.[1]);
    const count = Number(/admission_duration_seconds_count (\S+)/.exec(metrics)?.[1]);
    const under1ms = Number(
      /admission_duration_seconds_bucket\{le="0.001"\} (\S+)/.exec(metrics)?.[1],
    );
    console.log(
      `inside the webhook (its own histogram, body read to response written): mean ${fmt((sum / count) * 1e6, 0)} µs over ${count} reviews, ${fmt((under1ms / count) * 100, 1)}% under 1 ms`,
    );
    const inProcess = await reviewInProcess(join(dir, 'allowlist.json'), signer, body);
    console.log(
      `in this process, without HTTP or TLS (JSON.parse, admit, response, metrics on the same body and allowlist): ${fmt(inProcess, 1)} µs per review`,
    );
    const ratio = (mode: string, key: keyof Run) =>
      fmt(m(`webhook ${mode}`, key) / m(`floor ${mode}`, key));
    console.log(
      `ratio webhook/floor p99: sequential ${ratio('sequential', 'p99')}x, at 1000 req/s ${ratio('1000/s', 'p99')}x (target <= 1.25), ` +
        `saturated ${ratio('saturated', 'p99')}x; req/s saturated ${ratio('saturated', 'rps')}x; ` +
        `webhook ${fmt(m('webhook saturated', 'perCpuSecond'), 0)} req per CPU-second, i.e. on one core (target >= 1000)`,
    );
  } finally {
    floor.process.kill('SIGKILL');
    webhook.process.kill('SIGKILL');
  }
}

/** The webhook's own work per review, timed in batches in this process (median batch). */
async function reviewInProcess(
  allowlistFile: string,
  signer: ReturnType<typeof newSigner>,
  body: string,
): Promise<number> {
  const holder = new AllowlistHolder({
    source: createAllowlistSource(allowlistFile),
    publicKeyPem: await signer.publicKeyPem(),
    tags: false,
  });
  await holder.refresh();
  const index = holder.current();
  const metrics = new WebhookMetrics(holder, systemClock);
  const options = {
    resolveTags: false,
    unwatchedRegistries: 'deny',
    failureMode: 'closed',
    exemptNamespaces: ['kube-system'],
  } as const;
  const bytes = Buffer.from(body);
  const review = () => {
    const admission = admit(
      JSON.parse(bytes.toString('utf8')),
      'enforce',
      index,
      options,
      new Date(),
    );
    if (!admission.response?.allowed) throw new Error('the in-process review was not admitted');
    admissionReview(admission.response);
    metrics.reviewed(
      admission.outcome,
      admission.reason,
      'enforce',
      admission.decision?.checks ?? [],
      0,
    );
  };
  const batch = 2000;
  const ms = await medianMs(
    () => {
      for (let i = 0; i < batch; i++) review();
    },
    9,
    3,
  );
  return (ms / batch) * 1000;
}

interface Server {
  url: string;
  process: ChildProcess;
}

function startServer(command: string[], env: Record<string, string> = {}): Promise<Server> {
  const [file, ...rest] = command as [string, ...string[]];
  const child = spawn(file, rest, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk;
      const match = /admission webhook on (\S+)/.exec(stderr);
      if (match?.[1]) resolve({ url: match[1], process: child });
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
}

async function waitReady(url: string, ca: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const status = await new Promise<number>((resolve) => {
      request(`${url}/readyz`, { ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', () => resolve(0))
        .end();
    });
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the webhook did not become ready in 10 s');
}

function getText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    })
      .on('error', reject)
      .end();
  });
}

/**
 * A steady rate: requests issued on a 1 ms timer so that on average `rate` leave per
 * second, on a keep-alive pool of `connections` sockets. Latency counts from the moment the
 * request is issued, so waiting for a free socket (a slow server) is included; the timer's
 * own lateness (the client's) is not.
 */
async function paced(
  base: string,
  body: string,
  ca: string,
  options: { seconds: number; connections: number; rate: number },
): Promise<Run> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections, ca });
  const total = Math.round(options.rate * options.seconds);
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let done = 0;
    const finish = () => {
      done += 1;
      if (done === total) resolve();
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + (sent * 1000) / options.rate <= now) {
        const issued = performance.now();
        sent += 1;
        const req = request(
          `${base}/validate`,
          { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => {
              // The first 300 ms (TLS handshakes of the new pool, cold code) are not counted.
              if (res.statusCode !== 200) errors += 1;
              else if (issued - start >= 300) latencies.push(performance.now() - issued);
              finish();
            });
          },
        );
        req.on('error', () => {
          errors += 1;
          finish();
        });
        req.end(body);
      }
      if (sent < total) setTimeout(tick, 0.5);
    };
    tick();
  });
  const elapsed = (performance.now() - start - 300) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors };
}

/** One autocannon run; latencies are taken per response at sub-millisecond resolution. */
async function load(
  base: string,
  body: string,
  ca: string,
  options: { seconds: number; connections: number; rate?: number },
): Promise<Run> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: `${base}/validate`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: options.connections,
    duration: options.seconds,
    tlsOptions: { ca },
    ...(options.rate && { overallRate: options.rate }),
  });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
    latencies.push(ms);
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return {
    rps: result.requests.total / (result.duration || options.seconds),
    p50: at(0.5),
    p99: at(0.99),
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

/**
 * Both servers run at nice -10 when allowed, so that other work on a shared machine
 * disturbs floor and webhook alike and less. Not pinned to a core: a pinned server that
 * sleeps between paced requests waits for the busy core at every wake-up. "One core" is
 * measured instead, as requests per CPU-second of the server process.
 */
function priority(): string[] {
  try {
    execFileSync('nice', ['-n', '-10', 'true'], { stdio: 'ignore' });
    return ['nice', '-n', '-10'];
  } catch {
    return [];
  }
}

/** CPU seconds (user + system) a process has used, from /proc; NaN where there is none. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
