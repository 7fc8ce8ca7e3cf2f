import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultKind = 'throttle' | 'server-error' | 'latency' | 'reset' | 'lost-response';

/** Probability of each fault per request; the rest pass through untouched. */
export type FaultRates = Partial<Record<FaultKind, number>>;

export interface FaultProxy {
  endpoint: string;
  /** Faults injected so far, by kind, and requests seen. */
  readonly injected: Record<FaultKind, number>;
  readonly requests: number;
  stop(): Promise<void>;
}

/**
 * How the upstream speaks, so a throttle or a server error is answered as that service would:
 * DynamoDB (AWS JSON 1.0), SNS (AWS Query, XML errors), S3 (REST XML errors: 503 SlowDown,
 * 500 InternalError), a plain HTTP webhook (Slack: a 429 with Retry-After).
 */
export type FaultProtocol = 'aws-json' | 'aws-query' | 's3' | 'http';

type Answer = { status: number; headers: Record<string, string>; body: string };
const queryError = (status: number, type: string, code: string, message: string): Answer => ({
  status,
  headers: { 'content-type': 'text/xml' },
  body: `<ErrorResponse xmlns="https://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
});
const s3Error = (status: number, code: string, message: string): Answer => ({
  status,
  headers: { 'content-type': 'application/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`,
});
const ERROR_ANSWERS: Record<FaultProtocol, Record<'throttle' | 'server-error', Answer>> = {
  'aws-json': {
    throttle: {
      status: 400,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException',
        message: 'Rate of requests exceeds the allowed throughput.',
      }),
    },
    'server-error': {
      status: 500,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify({
        __type: 'com.amazon.coral.service#InternalFailure',
        message: 'internal failure',
      }),
    },
  },
  'aws-query': {
    throttle: queryError(400, 'Sender', 'Throttling', 'Rate exceeded'),
    'server-error': queryError(500, 'Receiver', 'InternalError', 'internal failure'),
  },
  s3: {
    throttle: s3Error(503, 'SlowDown', 'Please reduce your request rate.'),
    'server-error': s3Error(500, 'InternalError', 'We encountered an internal error.'),
  },
  http: {
    throttle: { status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' },
    'server-error': { status: 500, headers: {}, body: 'internal_error' },
  },
};

/** A small seeded PRNG (mulberry32), so a failing run can be repeated exactly. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * An HTTP proxy on loopback in front of an AWS-style JSON API (dynalite): it answers some
 * requests with DynamoDB's throttling error or a 500, delays some, resets the connection of
 * some before forwarding, and forwards some but drops the response after the server committed
 * the write — the fault a retried conditional write must survive.
 */
export async function startFaultProxy(
  upstream: string,
  rates: FaultRates,
  random: () => number,
  protocol: FaultProtocol = 'aws-json',
  /** When it returns true for a request (its body given) the upstream answers a server error. */
  down: (body: string) => boolean = () => false,
): Promise<FaultProxy> {
  const target = new URL(upstream);
  const injected: Record<FaultKind, number> = {
    throttle: 0,
    'server-error': 0,
    latency: 0,
    reset: 0,
    'lost-response': 0,
  };
  let requests = 0;
  const pick = (): FaultKind | undefined => {
    let roll = random();
    for (const kind of Object.keys(injected) as FaultKind[]) {
      roll -= rates[kind] ?? 0;
      if (roll < 0) return kind;
    }
    return undefined;
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests += 1;
      const fault = down(Buffer.concat(chunks).toString()) ? 'server-error' : pick();
      if (fault) injected[fault] += 1;
      if (fault === 'throttle' || fault === 'server-error') {
        const answer = ERROR_ANSWERS[protocol][fault];
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
        return;
      }
      if (fault === 'reset') {
        req.socket.destroy();
        return;
      }
      const forward = () => {
        const out = request(
          {
            host: target.hostname,
            port: target.port,
            path: req.url,
            method: req.method,
            headers: req.headers,
          },
          (upstreamRes) => {
            const body: Buffer[] = [];
            upstreamRes.on('data', (c: Buffer) => body.push(c));
            upstreamRes.on('end', () => {
              if (fault === 'lost-response') {
                req.socket.destroy();
                return;
              }
              res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
              res.end(Buffer.concat(body));
            });
          },
        );
        out.on('error', () => req.socket.destroy());
        out.end(Buffer.concat(chunks));
      };
      if (fault === 'latency') setTimeout(forward, 5 + Math.floor(random() * 40));
      else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    injected,
    get requests() {
      return requests;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
