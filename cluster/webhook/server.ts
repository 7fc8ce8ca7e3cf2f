import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type Clock, type Log, systemClock } from '../../shared/ports';
import { admissionReview } from './admission-review';
import { type Admission, type AdmitOptions, admit } from './admit';
import type { AllowlistHolder } from './allowlist-holder';
import type { Mode } from './decision';
import { clip, MAX_QUOTED, MAX_STATUS_MESSAGE, MAX_WARNINGS, quote } from './messages';
import { PROMETHEUS_CONTENT_TYPE } from './metrics';
import { type Pinning, pinTags } from './mutate';
import type { TlsMaterial } from './tls';
import type { WebhookMetrics } from './webhook-metrics';

export interface WebhookServerOptions {
  holder: AllowlistHolder;
  admit: AdmitOptions;
  /** Mode of `POST /validate`; `/validate/enforce` and `/validate/warn` name theirs. */
  defaultMode: Mode;
  metrics: WebhookMetrics;
  log: Log;
  clock?: Clock;
  /** Absent: plain HTTP (`--insecure-http`, local runs only). */
  tls?: TlsMaterial;
  /** True while shutting down: /readyz answers 503 so the endpoint is removed first. */
  draining?: () => boolean;
  /** etcd keeps objects under 1.5 MiB; a review carries at most two of them. */
  maxBodyBytes?: number;
  timeouts?: ServerTimeouts;
}

export interface ServerTimeouts {
  requestMs: number;
  headersMs: number;
  keepAliveMs: number;
}

export const DEFAULT_TIMEOUTS: ServerTimeouts = {
  requestMs: 30_000,
  headersMs: 10_000,
  // Longer than the API server's idle timeout (90 s), so it never reuses a closing socket.
  keepAliveMs: 120_000,
};

/**
 * Node's own options, given at construction: assigning `server.headersTimeout` larger than
 * `requestTimeout` afterwards skips the check the constructor does, and Node 20 then cuts a
 * stalled body at headersTimeout (measured: 4.6 s for requestTimeout 1 s, headersTimeout
 * 4.5 s). Node checks expiry every `connectionsCheckingInterval` (30 s by default, which
 * would add up to 30 s): a fifth of the headers timeout, at most 1 s.
 */
export function httpTimeoutOptions(t: ServerTimeouts) {
  if (t.headersMs > t.requestMs) {
    throw new RangeError(`headersTimeout ${t.headersMs} ms > requestTimeout ${t.requestMs} ms`);
  }
  return {
    requestTimeout: t.requestMs,
    headersTimeout: t.headersMs,
    keepAliveTimeout: t.keepAliveMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.round(t.headersMs / 5))),
  };
}

const ROUTES: ReadonlyMap<string, Mode | 'default'> = new Map([
  ['/validate', 'default'],
  ['/validate/enforce', 'enforce'],
  ['/validate/warn', 'warn'],
]);

/**
 * The admission webhook over HTTP/1.1 with keep-alive (the API server reuses connections;
 * HTTP/2 is left off, as Kubernetes webhooks do since CVE-2023-44487).
 */
export function createWebhookServer(options: WebhookServerOptions): Server {
  const clock = options.clock ?? systemClock;
  const maxBody = options.maxBodyBytes ?? 8 * 1024 * 1024;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const route = ROUTES.get(path);
    if (route && req.method === 'POST') {
      const mode = route === 'default' ? options.defaultMode : route;
      review(req, res, mode);
      return;
    }
    if (path === '/mutate' && req.method === 'POST') {
      review(req, res, options.defaultMode, true);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(res, 200, 'text/plain', 'ok\n');
    if (path === '/readyz') {
      if (options.draining?.()) return send(res, 503, 'text/plain', 'shutting down\n');
      return options.holder.current()
        ? send(res, 200, 'text/plain', 'ok\n')
        : send(res, 503, 'text/plain', 'no verified allowlist loaded yet\n');
    }
    if (path === '/metrics')
      return send(res, 200, PROMETHEUS_CONTENT_TYPE, options.metrics.registry.render());
    send(res, 404, 'text/plain', 'not found\n');
  };

  const review = (req: IncomingMessage, res: ServerResponse, mode: Mode, mutate = false) => {
    const started = process.hrtime.bigint();
    const chunks: Buffer[] = [];
    let size = 0;
    // Past the limit the rest is read and dropped (bounded by requestTimeout), so the
    // client gets a clean 413 instead of a reset connection.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody) chunks.length = 0;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > maxBody) {
        send(res, 413, 'application/json', JSON.stringify({ error: `body over ${maxBody} bytes` }));
        return;
      }
      let admission: Admission;
      let pinning: Pinning | undefined;
      try {
        // A review usually arrives in one chunk: no copy then.
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        if (mutate) pinning = pinBody(body);
        admission = pinning ?? admitBody(body, mode);
      } catch (error) {
        options.log.error('admission review failed', { error: (error as Error).stack });
        send(
          res,
          500,
          'application/json',
          JSON.stringify({ error: 'internal error: see the webhook log' }),
        );
        return;
      }
      if (admission.response) {
        send(res, 200, 'application/json', admissionReview(admission.response));
      } else {
        send(res, 400, 'application/json', JSON.stringify({ error: admission.error }));
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (pinning) {
        options.metrics.reviewed(pinning.outcome, pinning.reason, 'mutate', [], seconds);
        options.metrics.tagsPinned.inc({}, pinning.pinned.length);
        logPinning(options.log, pinning);
        return;
      }
      options.metrics.reviewed(
        admission.outcome,
        admission.reason,
        mode,
        admission.decision?.checks ?? [],
        seconds,
      );
      logAdmission(options.log, admission, mode);
    });
  };

  const admitBody = (body: Buffer, mode: Mode): Admission => {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (error) {
      json = { parseError: (error as Error).message };
    }
    return admit(json, mode, options.holder.current(), options.admit, clock());
  };

  const pinBody = (body: Buffer): Pinning => {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (error) {
      json = { parseError: (error as Error).message };
    }
    return pinTags(json, options.holder.current(), options.admit, clock());
  };

  const timeouts = httpTimeoutOptions(options.timeouts ?? DEFAULT_TIMEOUTS);
  const server = options.tls
    ? createHttpsServer({ ...options.tls, minVersion: 'TLSv1.2', ...timeouts }, handler)
    : createHttpServer(timeouts, handler);
  // Older Node releases ignore the option; the property means the same on all of them.
  server.keepAliveTimeout = timeouts.keepAliveTimeout;
  return server;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function logPinning(log: Log, pinning: Pinning): void {
  if (pinning.pinned.length === 0) return;
  const { request } = pinning;
  log.info('tags pinned', {
    uid: short(request?.uid),
    kind: short(request?.kind.kind),
    namespace: short(request?.namespace),
    name: short(request?.name),
    images: pinning.pinned.slice(0, MAX_WARNINGS).map((c) => ({
      field: short(c.container.field),
      image: quote(c.container.image),
      digest: c.digest,
    })),
  });
}

/** Requester-chosen strings in a log line are cut: one review, one line of bounded size. */
const short = (text: string | undefined) => (text === undefined ? undefined : clip(text, 256));

function logAdmission(log: Log, admission: Admission, mode: Mode): void {
  const { request, decision } = admission;
  if (admission.outcome === 'admitted' && admission.reason !== 'BREAK_GLASS') return;
  const flagged = decision?.checks.filter((c) => c.outcome !== 'admit') ?? [];
  const fields = {
    uid: short(request?.uid),
    operation: request?.operation,
    kind: short(request?.kind.kind),
    subResource: short(request?.subResource),
    namespace: short(request?.namespace),
    name: short(request?.name),
    user: short(request?.userInfo?.username),
    mode,
    decision: admission.outcome,
    reason: admission.reason,
    ...(admission.error && { error: clip(admission.error, MAX_STATUS_MESSAGE) }),
    ...(decision && {
      images: flagged.slice(0, MAX_WARNINGS).map((c) => ({
        field: short(c.container.field),
        image: quote(c.container.image),
        reason: c.reason,
        message: clip(c.message, MAX_QUOTED),
      })),
      ...(flagged.length > MAX_WARNINGS && { imagesOmitted: flagged.length - MAX_WARNINGS }),
    }),
  };
  if (admission.reason === 'BREAK_GLASS') {
    const groups = request?.userInfo?.groups;
    log.warn('break-glass admission', {
      audit: true,
      breakGlass: decision?.breakGlass,
      groups: groups?.slice(0, MAX_WARNINGS).map((g) => clip(g, 256)),
      ...(groups &&
        groups.length > MAX_WARNINGS && { groupsOmitted: groups.length - MAX_WARNINGS }),
      ...fields,
    });
  } else {
    log.info(admission.outcome === 'denied' ? 'admission denied' : 'admission warned', fields);
  }
}
