/**
 * Stalled-body close time with the production timeouts (30 s request, 10 s headers), on the
 * Node running it: the webhook's server against one configured as before (properties set
 * after construction, headersTimeout 125 s). Takes ~2.5 minutes: `npm run bench -- stalled-body`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { AllowlistHolder } from '../cluster/webhook/allowlist-holder';
import { createWebhookServer } from '../cluster/webhook/server';
import { WebhookMetrics } from '../cluster/webhook/webhook-metrics';
import { silentLog, systemClock } from '../shared/ports';

function closeTime(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      const started = performance.now();
      socket.write('POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{');
      socket.on('data', () => {});
      socket.on('close', () => {
        server.close();
        resolve((performance.now() - started) / 1000);
      });
    });
  });
}

export async function run(): Promise<void> {
  const holder = new AllowlistHolder({
    source: { location: 'none', fetch: () => Promise.reject(new Error('none')) },
    publicKeyPem: '',
    tags: false,
  });
  const now = createWebhookServer({
    holder,
    admit: {
      resolveTags: false,
      unwatchedRegistries: 'deny',
      failureMode: 'closed',
      exemptNamespaces: [],
    },
    defaultMode: 'enforce',
    metrics: new WebhookMetrics(holder, systemClock),
    log: silentLog,
  });
  const before = createServer((req, res) => req.resume().on('end', () => res.end()));
  before.keepAliveTimeout = 120_000;
  before.headersTimeout = 125_000;
  before.requestTimeout = 30_000;
  const [a, b] = await Promise.all([closeTime(now), closeTime(before)]);
  console.log(
    `Node ${process.version}: stalled body closed after ${a.toFixed(1)} s (webhook, requestTimeout 30 s); ${b.toFixed(1)} s configured as before (headersTimeout 125 s set after construction)`,
  );
  console.log(`ratio stalled-body close time after/before ${(a / b).toFixed(2)}x`);
}
