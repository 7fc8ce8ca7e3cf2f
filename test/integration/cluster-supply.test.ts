import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AllowlistHolder } from '../../cluster/webhook/allowlist-holder';
import {
  type AllowlistSource,
  DEFAULT_MAX_BYTES,
  FileSource,
  HttpSource,
} from '../../cluster/webhook/sources';
import { WebhookMetrics } from '../../cluster/webhook/webhook-metrics';
import { admitted, get, newSigner, signedAllowlist, startTestWebhook } from '../support/cluster';

const MB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'rw-supply-'));
const rssMb = () => Math.round(process.memoryUsage().rss / MB);

const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

/** A loopback HTTP server; `handler` decides how (badly) it answers. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/allowlist.json`;
}

function holderOf(source: AllowlistSource, fetchDeadlineMs?: number) {
  const holder = new AllowlistHolder({
    source,
    publicKeyPem: '',
    tags: false,
    ...(fetchDeadlineMs !== undefined && { fetchDeadlineMs }),
    onRefresh: (outcome) => metrics.refreshed(outcome),
  });
  const metrics = new WebhookMetrics(holder, () => new Date());
  return { holder, metrics };
}

const failures = (metrics: WebhookMetrics, reason: string) =>
  metrics.registry
    .render()
    .match(new RegExp(`_refresh_failures_total\\{reason="${reason}"\\} (\\d+)`))?.[1];

describe('allowlist supply: size cap', () => {
  it('a 200 MB file is refused from its size, before a byte is read', async () => {
    const file = join(dir, 'huge.json');
    const fd = openSync(file, 'w');
    ftruncateSync(fd, 200 * MB);
    closeSync(fd);
    const { holder, metrics } = holderOf(new FileSource(file));
    const before = rssMb();
    const outcome = await holder.refresh();
    const after = rssMb();
    console.log(
      `200 MB file source: RSS ${before} MB before the refresh, ${after} MB after (cap ${DEFAULT_MAX_BYTES} bytes)`,
    );
    expect(outcome).toMatchObject({ result: 'unreachable', reason: 'TOO_LARGE' });
    expect(outcome.result === 'unreachable' && outcome.message).toContain(
      '209715200 bytes, over the 50331648-byte cap',
    );
    expect(after - before).toBeLessThan(50);
    expect(failures(metrics, 'TOO_LARGE')).toBe('1');
  });

  it('a 200 MB HTTP body without Content-Length is cut at the cap while it streams', async () => {
    const chunk = Buffer.alloc(MB, 0x20);
    let sent = 0;
    const url = await serve((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const pump = () => {
        while (sent < 200 * MB) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const { holder, metrics } = holderOf(new HttpSource(url));
    const before = rssMb();
    const outcome = await holder.refresh();
    const after = rssMb();
    console.log(
      `200 MB HTTP source (chunked): RSS ${before} MB before, ${after} MB after; server had sent ${Math.round(sent / MB)} MB when the webhook stopped reading`,
    );
    expect(outcome).toMatchObject({ result: 'unreachable', reason: 'TOO_LARGE' });
    expect(after - before).toBeLessThan(150);
    expect(sent).toBeLessThan(200 * MB);
    expect(failures(metrics, 'TOO_LARGE')).toBe('1');
  });

  it('a Content-Length over the cap is refused before the body', async () => {
    let bodySent = false;
    const url = await serve((_, res) => {
      res.writeHead(200, { 'content-length': String(200 * MB) });
      res.flushHeaders();
      setTimeout(() => {
        bodySent = true;
        res.end();
      }, 2000).unref();
    });
    const started = performance.now();
    const outcome = await holderOf(new HttpSource(url)).holder.refresh();
    expect(outcome).toMatchObject({ result: 'unreachable', reason: 'TOO_LARGE' });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(bodySent).toBe(false);
  });
});

describe('allowlist supply: deadline', () => {
  it('an HTTP source that drips a byte every 200 ms gives up at the deadline', async () => {
    const url = await serve((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write('{'), 200);
      res.on('close', () => clearInterval(timer));
    });
    const { holder, metrics } = holderOf(new HttpSource(url, { deadlineMs: 1500 }));
    const started = performance.now();
    const outcome = await holder.refresh();
    const ms = Math.round(performance.now() - started);
    console.log(`dripping HTTP source: gave up after ${ms} ms (deadline 1500 ms)`);
    expect(outcome).toMatchObject({ result: 'unreachable', reason: 'TIMEOUT' });
    expect(ms).toBeGreaterThanOrEqual(1450);
    expect(ms).toBeLessThan(2500);
    expect(failures(metrics, 'TIMEOUT')).toBe('1');
  });

  it('a FIFO is refused at once (opening it would block until a writer comes)', async () => {
    const fifo = join(dir, 'allowlist.fifo');
    execFileSync('mkfifo', [fifo]);
    const started = performance.now();
    const outcome = await holderOf(new FileSource(fifo)).holder.refresh();
    const ms = Math.round(performance.now() - started);
    console.log(`FIFO file source: refused after ${ms} ms`);
    expect(outcome).toMatchObject({ result: 'unreachable', reason: 'UNREACHABLE' });
    expect(outcome.result === 'unreachable' && outcome.message).toContain('not a regular file');
    expect(ms).toBeLessThan(500);
  });

  it('a source whose fetch never ends: TIMEOUT, and the next refresh starts a new fetch', async () => {
    let calls = 0;
    const hung: AllowlistSource = {
      location: 'hung://',
      fetch: () => {
        calls += 1;
        return new Promise(() => {});
      },
    };
    const { holder } = holderOf(hung, 300);
    expect(await holder.refresh()).toMatchObject({ result: 'unreachable', reason: 'TIMEOUT' });
    expect(await holder.refresh()).toMatchObject({ result: 'unreachable', reason: 'TIMEOUT' });
    expect(calls).toBe(2);
  });

  it('while the source drips, the webhook serves, says not ready, and the log names TIMEOUT', async () => {
    let drip = true;
    const signer = newSigner();
    const good = await signedAllowlist(signer, [admitted('prod/api', 1)]);
    const url = await serve((req, res) => {
      if (drip) {
        res.writeHead(200);
        const timer = setInterval(() => res.write(' '), 200);
        res.on('close', () => clearInterval(timer));
        return;
      }
      res.end(req.url?.endsWith('.sigstore.json') ? good.bundle : good.document);
    });
    const hook = await startTestWebhook(
      undefined,
      { allowlist: { source: url, fetchTimeout: '1s' } },
      { signer },
    );
    try {
      const failure = hook.log.entries.find((e) =>
        e.message.startsWith('allowlist refresh failed'),
      );
      expect(failure?.fields).toMatchObject({ reason: 'TIMEOUT', result: 'unreachable' });
      expect(String(failure?.fields.detail)).toContain('no complete answer within 1000 ms');
      const pending = hook.refresh();
      expect((await get(hook.url('/healthz'), hook.tls.ca)).status).toBe(200);
      expect((await get(hook.url('/readyz'), hook.tls.ca)).status).toBe(503);
      expect(await pending).toMatchObject({ reason: 'TIMEOUT' });
      drip = false;
      expect(await hook.refresh()).toMatchObject({ result: 'updated' });
      expect((await get(hook.url('/readyz'), hook.tls.ca)).status).toBe(200);
    } finally {
      await hook.close();
    }
  });
});
