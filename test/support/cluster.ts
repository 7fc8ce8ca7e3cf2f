import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveSettings, type WebhookSettingsInput } from '../../cluster/webhook/config';
import { type RunningWebhook, startWebhook } from '../../cluster/webhook/start';
import type { AdmissionReviewRequestFixture } from '../../events';
import { loadFixture } from '../../events';
import { FileSigner, generatePrivateKeyPem } from '../../shared/adapters/local/file-signer';
import { signMessageBundle } from '../../shared/adapters/sigstore/bundles';
import {
  type AdmittedImage,
  buildAllowlist,
  serialiseAllowlist,
} from '../../shared/domain/allowlist';
import type { Log } from '../../shared/ports';

export const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

/** A deterministic digest for test image `n` (64 hex). */
export function digest(n: number): string {
  return `sha256:${n.toString(16).padStart(64, '0')}`;
}

export interface TestTls {
  dir: string;
  ca: string;
  certFile: string;
  keyFile: string;
  /** Issues another server certificate from the same CA into the given files. */
  reissue(certFile: string, keyFile: string, commonName?: string): void;
}

/** A throwaway CA and a 127.0.0.1/localhost server certificate (Debian's openssl CLI). */
export function makeTls(): TestTls {
  const dir = mkdtempSync(join(tmpdir(), 'rw-tls-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'];
  ssl(
    'req',
    '-x509',
    ...ec,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-subj',
    '/CN=rw-test-ca',
  );
  const reissue = (certFile: string, keyFile: string, commonName = 'localhost') =>
    ssl(
      'req',
      '-x509',
      ...ec,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-addext',
      'basicConstraints=CA:FALSE',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      `/CN=${commonName}`,
    );
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  reissue(certFile, keyFile);
  return { dir, ca: readFileSync(join(dir, 'ca.crt'), 'utf8'), certFile, keyFile, reissue };
}

export interface SignedAllowlist {
  document: Buffer;
  bundle: Buffer;
}

export interface AllowlistOptions {
  sequence?: number;
  now?: Date;
  validityMs?: number;
}

/** Builds, serialises and signs an allowlist exactly as the publisher does. */
export async function signedAllowlist(
  signer: FileSigner,
  images: AdmittedImage[],
  options: AllowlistOptions = {},
): Promise<SignedAllowlist> {
  const document = serialiseAllowlist(
    buildAllowlist(images, {
      sequence: options.sequence ?? 1,
      now: options.now ?? new Date(),
      validityMs: options.validityMs ?? 86_400_000,
      policyHash: 'sha256:test',
    }),
  );
  const bundle = Buffer.from(JSON.stringify(await signMessageBundle(document, signer)));
  return { document, bundle };
}

/**
 * Writes a signed allowlist as `allowlist.json`, its bundle and the public key into dir and
 * returns the arguments that serve it with `registry-watcher cluster webhook` over TLS on a
 * random loopback port (what the bundled webhook is started with in tests and the benchmark).
 */
export async function writeWebhookFiles(
  dir: string,
  signer: FileSigner,
  signed: SignedAllowlist,
  tls: TestTls,
): Promise<string[]> {
  writeFileSync(join(dir, 'allowlist.json'), signed.document);
  writeFileSync(join(dir, 'allowlist.json.sigstore.json'), signed.bundle);
  writeFileSync(join(dir, 'allowlist.pub'), await signer.publicKeyPem());
  return [
    'cluster',
    'webhook',
    '--allowlist',
    join(dir, 'allowlist.json'),
    '--key',
    join(dir, 'allowlist.pub'),
    '--tls-cert',
    tls.certFile,
    '--tls-key',
    tls.keyFile,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--shutdown-delay',
    '0s',
  ];
}

export function newSigner(): FileSigner {
  return new FileSigner(generatePrivateKeyPem());
}

export function admitted(
  repository: string,
  n: number,
  extra: Partial<AdmittedImage> = {},
): AdmittedImage {
  return { registry: ECR, repository, digest: digest(n), verdict: 'PASS', tags: [], ...extra };
}

const TEMPLATE_PATHS: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  EphemeralContainers: [],
};

export interface Images {
  containers?: string[];
  initContainers?: string[];
  ephemeralContainers?: string[];
  /** References of image volumes (`volumes[].image.reference`); other volumes are kept. */
  imageVolumes?: string[];
}

/**
 * A fixture review with its pod spec's images replaced; lists not given are removed (image
 * volumes too, other volumes stay). Paths are written out here, independently of the
 * webhook's own table.
 */
export function reviewWith(
  name: Parameters<typeof loadFixture>[0] & `k8s/${string}`,
  images: Images,
): AdmissionReviewRequestFixture {
  const review = loadFixture(name) as AdmissionReviewRequestFixture;
  let spec = review.request.object;
  for (const key of TEMPLATE_PATHS[review.request.kind.kind] ?? []) {
    spec = spec[key] as Record<string, unknown>;
  }
  for (const kind of ['containers', 'initContainers', 'ephemeralContainers'] as const) {
    const list = images[kind];
    if (list === undefined) {
      delete spec[kind];
      continue;
    }
    spec[kind] = list.map((image, i) => ({
      name: `${kind.replace(/s$/, '').toLowerCase()}-${i}`,
      image,
    }));
  }
  const volumes = ((spec.volumes ?? []) as Record<string, unknown>[]).filter((v) => !v.image);
  volumes.push(
    ...(images.imageVolumes ?? []).map((reference, i) => ({
      name: `image-volume-${i}`,
      image: { reference, pullPolicy: 'IfNotPresent' },
    })),
  );
  if (volumes.length > 0) spec.volumes = volumes;
  else delete spec.volumes;
  return review;
}

export interface PostResult {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: responses are asserted field by field
  body: any;
}

/** POSTs a body over HTTPS, trusting only the test CA. */
export function post(url: string, body: unknown, ca: string): Promise<PostResult> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', ca, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export function get(
  url: string,
  ca: string,
): Promise<{ status: number; body: string; cert?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate?.();
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          ...(peer?.fingerprint256 && { cert: peer.fingerprint256 }),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

/** A Log port that keeps what it is told, for assertions. */
export function recordingLog(): Log & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (message: string, ...extra: Record<string, unknown>[]) =>
      entries.push({ level, message, fields: Object.assign({}, ...extra) });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface TestWebhook {
  webhook: RunningWebhook;
  tls: TestTls;
  signer: FileSigner;
  log: ReturnType<typeof recordingLog>;
  /** Files the webhook reads its allowlist and bundle from. */
  allowlistFile: string;
  /** Writes a signed allowlist where the webhook reads it (call `refresh()` to load it). */
  publish(signed: SignedAllowlist): void;
  refresh(): ReturnType<RunningWebhook['holder']['refresh']>;
  url(path: string): string;
  close(): Promise<void>;
}

/** A webhook on a random loopback port over HTTPS, reading a file allowlist. */
export async function startTestWebhook(
  initial: SignedAllowlist | undefined,
  settings: WebhookSettingsInput = {},
  options: { signer?: FileSigner; clock?: () => Date } = {},
): Promise<TestWebhook> {
  const tls = makeTls();
  const signer = options.signer ?? newSigner();
  const keyFile = join(tls.dir, 'allowlist.pub');
  writeFileSync(keyFile, await signer.publicKeyPem());
  const allowlistFile = join(tls.dir, 'allowlist.json');
  const publish = (signed: SignedAllowlist) => {
    writeFileSync(`${allowlistFile}.sigstore.json`, signed.bundle);
    writeFileSync(allowlistFile, signed.document);
  };
  if (initial) publish(initial);
  const log = recordingLog();
  const resolved = resolveSettings(undefined, {
    ...settings,
    allowlist: {
      source: allowlistFile,
      publicKeyFile: keyFile,
      refreshInterval: '1h',
      ...settings.allowlist,
    },
    server: {
      host: '127.0.0.1',
      port: 0,
      tlsCertFile: tls.certFile,
      tlsKeyFile: tls.keyFile,
      ...settings.server,
    },
  });
  const webhook = await startWebhook(resolved, {
    log,
    ...(options.clock && { clock: options.clock }),
  });
  await webhook.firstRefresh;
  return {
    webhook,
    tls,
    signer,
    log,
    allowlistFile,
    publish,
    refresh: () => webhook.holder.refresh(),
    url: (path) => `${webhook.url}${path}`,
    close: () => webhook.close(),
  };
}
