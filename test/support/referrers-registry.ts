import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { type LocalRegistry, startRegistry } from './registry';

/**
 * The OCI distribution-spec v1.1 referrers API (spec.md of opencontainers/distribution-spec
 * v1.1.1: "Pushing Manifests with Subject", "Listing Referrers", "Enabling the Referrers
 * API") in front of the real docker-registry (distribution 2.8, which has none). Debian 13
 * packages no registry that serves it (docker-registry 2.8.3; no zot), so this is the
 * nearest thing: every byte is stored and served by distribution; this layer only indexes
 * the `subject` of manifests pushed through it and answers the referrers query from that.
 */
export interface ReferrersRegistryOptions {
  /** Descriptors per answer; longer lists are paged with `Link: <…>; rel="next"`. */
  pageSize?: number;
  /** Apply `artifactType` filters (a SHOULD): false answers the whole list, no header. */
  filters?: boolean;
}

export interface ReferrersQuery {
  path: string;
  status: number;
  filtersApplied?: string;
}

export interface ReferrersRegistry extends LocalRegistry {
  /**
   * false: the referrers API is off (distribution 2.8 answers its own 404, no `OCI-Subject`
   * on push), so clients use the tag schema. Switch it on later and the tag-schema entries
   * are listed too, as "Enabling the Referrers API" requires.
   */
  api: boolean;
  /** Set: `Link` URLs are absolute on this origin (RFC 5988 allows both); unset: paths. */
  linkOrigin?: string;
  /** Every referrers API request, in order: which path a client took. */
  readonly queries: ReferrersQuery[];
  /** Manifest pushes answered with `OCI-Subject`. */
  readonly subjectsProcessed: string[];
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

interface Manifest {
  mediaType?: string;
  artifactType?: string;
  config?: { mediaType?: string };
  manifests?: unknown[];
  subject?: { digest?: unknown };
  annotations?: Record<string, string>;
}

const INDEX = 'application/vnd.oci.image.index.v1+json';
const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  INDEX,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const REFERRERS = /^\/v2\/(.+)\/referrers\/([^/]+)$/;
const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/]+)$/;

/** The list entry the spec asks for: artifactType (else the config's type), annotations. */
function describe(manifest: Manifest, bytes: Buffer, contentType?: string): Descriptor {
  const isIndex = Array.isArray(manifest.manifests);
  const artifactType = manifest.artifactType || (isIndex ? undefined : manifest.config?.mediaType);
  return {
    mediaType: manifest.mediaType ?? contentType ?? '',
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    size: bytes.length,
    ...(artifactType && { artifactType }),
    ...(manifest.annotations && { annotations: manifest.annotations }),
  };
}

function parse(bytes: Buffer): Manifest | undefined {
  try {
    const json = JSON.parse(bytes.toString('utf8')) as unknown;
    return json && typeof json === 'object' ? (json as Manifest) : undefined;
  } catch {
    return undefined;
  }
}

const readBody = (message: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    message.on('data', (c: Buffer) => chunks.push(c));
    message.on('end', () => resolve(Buffer.concat(chunks)));
    message.on('error', reject);
  });

export async function startReferrersRegistry(
  options: ReferrersRegistryOptions = {},
): Promise<ReferrersRegistry> {
  const upstream = await startRegistry();
  const [upstreamHost, upstreamPort] = upstream.host.split(':');
  /** repository → subject digest → referrer digest → descriptor, in push order. */
  const index = new Map<string, Map<string, Map<string, Descriptor>>>();
  const queries: ReferrersQuery[] = [];
  const subjectsProcessed: string[] = [];

  /** One request to distribution; `Host` is kept, so upload Locations name this server. */
  const forward = (
    path: string,
    method: string,
    headers: IncomingMessage['headers'],
    body?: Buffer,
  ) =>
    new Promise<{ status: number; headers: OutgoingHttpHeaders; body: Buffer }>(
      (resolve, reject) => {
        const out = request(
          { host: upstreamHost, port: upstreamPort, path, method, headers },
          (res) => {
            readBody(res)
              .then((b) =>
                resolve({ status: res.statusCode ?? 502, headers: res.headers, body: b }),
              )
              .catch(reject);
          },
        );
        out.on('error', reject);
        out.end(body);
      },
    );

  const referrersOf = (repository: string, subject: string) => {
    const bySubject = index.get(repository) ?? new Map<string, Map<string, Descriptor>>();
    index.set(repository, bySubject);
    const list = bySubject.get(subject) ?? new Map<string, Descriptor>();
    bySubject.set(subject, list);
    return list;
  };

  /** Manifests listed in the tag-schema index that really name `subject` (pushed while off). */
  async function tagSchemaReferrers(repository: string, subject: string) {
    const get = (reference: string) =>
      forward(`/v2/${repository}/manifests/${reference}`, 'GET', { accept: ACCEPT });
    const tagged = await get(subject.replace(':', '-'));
    const entries = tagged.status === 200 ? parse(tagged.body)?.manifests : undefined;
    const found: Descriptor[] = [];
    for (const entry of Array.isArray(entries) ? entries : []) {
      const digest = (entry as { digest?: unknown }).digest;
      if (typeof digest !== 'string' || !DIGEST.test(digest)) continue;
      const fetched = await get(digest);
      const manifest = fetched.status === 200 ? parse(fetched.body) : undefined;
      if (manifest?.subject?.digest === subject) found.push(describe(manifest, fetched.body));
    }
    return found;
  }

  async function listReferrers(res: ServerResponse, url: URL, linkOrigin = '') {
    const [, repository = '', subject = ''] = REFERRERS.exec(url.pathname) ?? [];
    const record = (status: number, filtersApplied?: string) =>
      queries.push({ path: `${url.pathname}${url.search}`, status, filtersApplied });
    if (!DIGEST.test(subject)) {
      record(400);
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'DIGEST_INVALID', message: subject }] }));
      return;
    }
    const pushed = [...referrersOf(repository, subject).values()];
    const known = new Set(pushed.map((d) => d.digest));
    const all = [
      ...(await tagSchemaReferrers(repository, subject)).filter((d) => !known.has(d.digest)),
      ...pushed,
    ];
    const artifactType = url.searchParams.get('artifactType');
    const filter = artifactType !== null && options.filters !== false;
    const listed = filter ? all.filter((d) => d.artifactType === artifactType) : all;
    const size = options.pageSize ?? Number.POSITIVE_INFINITY;
    const page = Number(url.searchParams.get('page') ?? '0');
    const headers: OutgoingHttpHeaders = { 'content-type': INDEX };
    if (filter) headers['oci-filters-applied'] = 'artifactType';
    if ((page + 1) * size < listed.length) {
      const next = new URLSearchParams(url.searchParams);
      next.set('page', String(page + 1));
      headers.link = `<${linkOrigin}${url.pathname}?${next}>; rel="next"`;
    }
    record(200, filter ? 'artifactType' : undefined);
    res.writeHead(200, headers);
    res.end(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: INDEX,
        manifests: listed.slice(page * size, (page + 1) * size),
      }),
    );
  }

  async function handle(req: IncomingMessage, res: ServerResponse, state: ReferrersRegistry) {
    const url = new URL(req.url ?? '/', 'http://registry');
    if (state.api && req.method === 'GET' && REFERRERS.test(url.pathname))
      return listReferrers(res, url, state.linkOrigin);
    const body = await readBody(req);
    const answer = await forward(req.url ?? '/', req.method ?? 'GET', req.headers, body);
    const [, repository = '', reference = ''] = MANIFEST.exec(url.pathname) ?? [];
    const ok = answer.status >= 200 && answer.status < 300;
    if (state.api && ok && repository && req.method === 'PUT') {
      const manifest = parse(body);
      const subject = manifest?.subject?.digest;
      if (manifest && typeof subject === 'string' && DIGEST.test(subject)) {
        const descriptor = describe(manifest, body, req.headers['content-type']);
        referrersOf(repository, subject).set(descriptor.digest, descriptor);
        answer.headers['oci-subject'] = subject;
        subjectsProcessed.push(descriptor.digest);
      }
    }
    if (ok && repository && req.method === 'DELETE') {
      for (const list of index.get(repository)?.values() ?? []) list.delete(reference);
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const registry: ReferrersRegistry = {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    api: true,
    queries,
    subjectsProcessed,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await upstream.stop();
    },
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, registry).catch((error: Error) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`referrers registry: ${error.message}`);
    });
  });
  return registry;
}
