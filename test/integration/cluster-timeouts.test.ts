import { connect, type TLSSocket } from 'node:tls';
import { resolveSettings } from '../../cluster/webhook/config';
import { loadFixture } from '../../events';
import {
  admitted,
  digest,
  ECR,
  newSigner,
  post,
  reviewWith,
  signedAllowlist,
  startTestWebhook,
  type TestWebhook,
} from '../support/cluster';

/**
 * The server's timeouts as configured, on the Node running the suite. Short values keep it
 * quick; what is checked is that each connection closes at its own timeout and no other.
 */
const REQUEST_MS = 1500;
const HEADERS_MS = 600;
const KEEP_ALIVE_MS = 3000;

let hook: TestWebhook;

beforeAll(async () => {
  const signer = newSigner();
  hook = await startTestWebhook(
    await signedAllowlist(signer, [admitted('prod/api', 1)]),
    {
      server: { requestTimeout: '1.5s', headersTimeout: '0.6s', keepAliveTimeout: '3s' },
    },
    { signer },
  );
});
afterAll(() => hook.close());

/** Opens a TLS connection, writes `data`, and resolves with ms until the server closes it. */
function closedAfter(data: string): Promise<{ ms: number; answer: string }> {
  const { hostname: host, port } = new URL(hook.webhook.url);
  return new Promise((resolve, reject) => {
    let answer = '';
    let started = 0;
    const socket: TLSSocket = connect(
      { host, port: Number(port), ca: hook.tls.ca, servername: 'localhost' },
      () => {
        started = performance.now();
        socket.write(data);
      },
    );
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ ms: Math.round(performance.now() - started), answer }));
  });
}

const HEAD = 'POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n';

describe(`webhook timeouts on Node ${process.version}`, () => {
  it('a stalled body is cut at requestTimeout with 408', async () => {
    const { ms, answer } = await closedAfter(`${HEAD}Content-Length: 1000\r\n\r\n{"apiVersion":`);
    console.log(
      `stalled body: closed after ${ms} ms (requestTimeout ${REQUEST_MS} ms, Node ${process.version})`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeGreaterThanOrEqual(REQUEST_MS - 50);
    expect(ms).toBeLessThan(REQUEST_MS + 1000);
  });

  it('stalled headers are cut at headersTimeout', async () => {
    const { ms, answer } = await closedAfter(`${HEAD}Content-Le`);
    console.log(`stalled headers: closed after ${ms} ms (headersTimeout ${HEADERS_MS} ms)`);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeGreaterThanOrEqual(HEADERS_MS - 50);
    expect(ms).toBeLessThan(REQUEST_MS);
  });

  it('an idle keep-alive connection lives until keepAliveTimeout, not headersTimeout', async () => {
    const body = JSON.stringify(loadFixture('k8s/admission-review-pod'));
    const { ms, answer } = await closedAfter(
      `${HEAD}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    console.log(`idle keep-alive: closed after ${ms} ms (keepAliveTimeout ${KEEP_ALIVE_MS} ms)`);
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(ms).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 100);
    expect(ms).toBeLessThan(KEEP_ALIVE_MS + 2500);
  });

  it('a headersTimeout longer than requestTimeout is refused at start', () => {
    expect(() =>
      resolveSettings(undefined, {
        allowlist: { source: 'a.json', publicKeyFile: 'k.pem' },
        server: { insecureHttp: true, requestTimeout: '30s', headersTimeout: '125s' },
      }),
    ).toThrow(/headersTimeout 125s is longer than server.requestTimeout 30s/);
  });
});

describe('hostile reviews over HTTP: answered, never HTTP 500, log lines bounded', () => {
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'kind %s: 200, admitted unchecked',
    async (kind) => {
      const review = loadFixture('k8s/admission-review-pod');
      const text = JSON.stringify({
        ...review,
        request: { ...review.request, kind: { ...review.request.kind, kind } },
      });
      const { status, body } = await post(hook.url('/validate'), text, hook.tls.ca);
      expect(status).toBe(200);
      expect(body.response).toMatchObject({ uid: review.request.uid, allowed: true });
    },
  );

  it('a 7 MB reference: status.message and the log line stay small', async () => {
    const huge = `${ECR}/${'a'.repeat(7 * 1024 * 1024)}@${digest(9)}`;
    const before = hook.log.entries.length;
    const { status, body } = await post(
      hook.url('/validate'),
      reviewWith('k8s/admission-review-pod', { containers: [huge] }),
      hook.tls.ca,
    );
    const line = JSON.stringify(
      hook.log.entries.slice(before).find((e) => e.message === 'admission denied'),
    );
    console.log(
      `7 MB reference over HTTPS: status.message ${body.response.status.message.length} characters, log line ${line.length} characters`,
    );
    expect(status).toBe(200);
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.message.length).toBeLessThanOrEqual(4096);
    expect(line.length).toBeLessThan(8192);
  });
});
