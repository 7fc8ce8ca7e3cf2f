/**
 * The allowlist supply path of a real webhook replica (the image's bundle, its own process),
 * with production settings (48 MiB cap, 20 s fetch deadline): RSS after refreshes from a
 * hostile source beside the RSS of the same replica holding a normal signed allowlist.
 * `npm run bench -- supply [digests]` (default 100,000 digests; ~1.5 minutes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWebhook } from '../cluster/build';
import { admitted, newSigner, signedAllowlist } from '../test/support/cluster';

const MB = 1024 * 1024;
const REFRESH_S = 2;
const DEADLINE_MS = 20_000;
/** The replica's heap flags as the kustomize base deploys it (cluster/deploy/deployment.yaml). */
const DEPLOYED_NODE_OPTIONS =
  /name: NODE_OPTIONS\s+value: (.+)/.exec(
    readFileSync(join(__dirname, '../cluster/deploy/deployment.yaml'), 'utf8'),
  )?.[1] ?? '';

interface Replica {
  child: ChildProcess;
  lines: string[];
}

function startReplica(bundle: string, allowlist: string, key: string, extra: string[] = []) {
  const child = spawn(
    process.execPath,
    [
      bundle,
      'cluster',
      'webhook',
      '--allowlist',
      allowlist,
      '--key',
      key,
      '--insecure-http',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--refresh',
      `${REFRESH_S}s`,
      '--shutdown-delay',
      '0s',
      ...extra,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'INFO', NODE_OPTIONS: DEPLOYED_NODE_OPTIONS },
    },
  );
  const replica: Replica = { child, lines: [] };
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    replica.lines.push(...lines);
  });
  child.stderr?.on('data', (chunk: Buffer) => replica.lines.push(String(chunk)));
  return replica;
}

/** VmRSS (now) and VmHWM (peak) of a live process, from /proc. */
function memory(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

async function waitFor(replica: Replica, pattern: RegExp, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (replica.lines.some((l) => pattern.test(l))) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no log line ${pattern} within ${timeoutMs} ms:\n${replica.lines.join('\n')}`);
}

const count = (replica: Replica, pattern: RegExp) =>
  replica.lines.filter((l) => pattern.test(l)).length;

async function stop(replica: Replica): Promise<void> {
  if (replica.child.exitCode !== null) return;
  const exited = new Promise((r) => replica.child.once('exit', r));
  replica.child.kill('SIGKILL');
  await exited;
}

async function serve(handler: Parameters<typeof createServer>[1]): Promise<[Server, string]> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return [server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`];
}

/** A replica holding a verified allowlist: its memory a few refreshes later. */
async function holding(bundle: string, source: string, key: string) {
  const replica = startReplica(bundle, source, key);
  try {
    await waitFor(replica, /"message":"allowlist updated/, 120_000);
    await new Promise((r) => setTimeout(r, (REFRESH_S * 2 + 1) * 1000));
    return memory(replica.child.pid ?? 0);
  } finally {
    await stop(replica);
  }
}

/** A hostile source's replica: its memory after `refreshes` failed refreshes with `reason`. */
async function hostile(bundle: string, source: string, key: string, reason: string) {
  const replica = startReplica(bundle, source, key);
  try {
    const failed = new RegExp(`refresh failed.*"reason":"${reason}"`);
    await waitFor(replica, failed, 60_000);
    // later refreshes hit the same cap; the peak must not grow with them
    const until = performance.now() + 60_000;
    while (count(replica, failed) < 3 && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
    }
    return { ...memory(replica.child.pid ?? 0), refreshes: count(replica, failed) };
  } finally {
    await stop(replica);
  }
}

export async function run(args: string[] = []): Promise<void> {
  const digests = Number(args[0] ?? 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'rw-bench-supply-'));
  const bundle = join(dir, 'webhook.js');
  await bundleWebhook(bundle);
  const signer = newSigner();
  const keyFile = join(dir, 'allowlist.pub');
  writeFileSync(keyFile, await signer.publicKeyPem());
  const images = Array.from({ length: digests }, (_, n) => admitted(`team${n % 200}/app`, n + 1));
  const { document, bundle: signature } = await signedAllowlist(signer, images);
  const one = await signedAllowlist(signer, [admitted('team/app', 1)]);
  const big = join(dir, 'big.json');
  const fd = openSync(big, 'w');
  ftruncateSync(fd, 200 * MB);
  closeSync(fd);
  let sentChunked = 0;
  const [server, base] = await serve((req, res) => {
    if (req.url === '/one.json') return res.end(one.document);
    if (req.url === '/one.json.sigstore.json') return res.end(one.bundle);
    if (req.url === '/good.json') return res.end(document);
    if (req.url === '/good.json.sigstore.json') return res.end(signature);
    if (req.url === '/chunked.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(MB, 0x20);
      let sent = 0;
      const pump = () => {
        let room = true;
        while (sent < 200 * MB && room) {
          room = res.write(chunk);
          sent += MB;
          sentChunked += MB;
        }
        if (sent >= 200 * MB) res.end();
        else res.once('drain', pump);
      };
      return pump();
    }
    if (req.url === '/drip.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write('{'), 3_000);
      return res.on('close', () => clearInterval(timer));
    }
    res.statusCode = 404;
    res.end();
  });
  try {
    const idle = await holding(bundle, `${base}/one.json`, keyFile);
    const held = await holding(bundle, `${base}/good.json`, keyFile);
    const file = await hostile(bundle, big, keyFile, 'TOO_LARGE');
    const chunked = await hostile(bundle, `${base}/chunked.json`, keyFile, 'TOO_LARGE');
    const drip = startReplica(bundle, `${base}/drip.json`, keyFile);
    let gaveUpMs: number;
    try {
      gaveUpMs = await waitFor(drip, /refresh failed.*"reason":"TIMEOUT"/, DEADLINE_MS * 3);
    } finally {
      await stop(drip);
    }
    console.log(
      `webhook replica (its image's bundle, own process, NODE_OPTIONS ${DEPLOYED_NODE_OPTIONS}), cap 48 MiB, fetch deadline 20 s, refresh ${REFRESH_S} s; load average ${loadavg()[0]?.toFixed(1)}`,
    );
    console.log('source                                  RSS MB  peak RSS MB  refreshes');
    const row = (name: string, m: { rssMb: number; peakMb: number }, refreshes: string) =>
      console.log(
        `${name.padEnd(38)}  ${String(m.rssMb).padStart(6)}  ${String(m.peakMb).padStart(11)}  ${refreshes}`,
      );
    row('signed allowlist, 1 digest', idle, 'verified');
    row(`signed allowlist, ${digests.toLocaleString('en')} digests`, held, 'verified');
    row('200 MB file', file, `${file.refreshes} x TOO_LARGE`);
    row('200 MB chunked HTTP body', chunked, `${chunked.refreshes} x TOO_LARGE`);
    console.log(
      `chunked source: ${Math.round(sentChunked / MB)} MB sent over ${chunked.refreshes} refreshes (each cut at the cap)`,
    );
    console.log(
      `dripping HTTP source (a byte every 3 s): refresh failed with TIMEOUT after ${(gaveUpMs / 1000).toFixed(1)} s from start (deadline ${DEADLINE_MS / 1000} s)`,
    );
    const worst = Math.max(file.peakMb, chunked.peakMb);
    console.log(
      `ratio peak RSS with a 200 MB source / holding ${digests.toLocaleString('en')} digests ${(worst / held.peakMb).toFixed(2)}x (${worst} MB / ${held.peakMb} MB; limit 512 Mi)`,
    );
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
