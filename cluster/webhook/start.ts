import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { parseDuration } from '../../shared/domain/duration';
import { ConfigError } from '../../shared/domain/errors';
import { canonicalRegistry } from '../../shared/domain/image-ref';
import { type Clock, type Log, systemClock } from '../../shared/ports';
import { AllowlistHolder, type RefreshOutcome } from './allowlist-holder';
import { refreshIntervalMs, type WebhookSettings } from './config';
import { createWebhookServer } from './server';
import { type AllowlistSource, createAllowlistSource } from './sources';
import { readTls, type TlsMaterial, watchTls } from './tls';
import { WebhookMetrics } from './webhook-metrics';

export interface WebhookDependencies {
  log: Log;
  clock?: Clock;
  /** Replaces the source the settings name (tests). */
  source?: AllowlistSource;
  s3?: S3Client;
}

export interface RunningWebhook {
  url: string;
  holder: AllowlistHolder;
  metrics: WebhookMetrics;
  /** The first refresh (the server answers before it ends; /readyz tells when it succeeded). */
  firstRefresh: Promise<RefreshOutcome>;
  /** Checks the TLS files now (also done on an interval). */
  reloadTls(): Promise<boolean>;
  /** Reports not ready for `drainMs` (so endpoints drop it), then stops. */
  close(drainMs?: number): Promise<void>;
}

/** Wires settings to a listening webhook: source, holder, metrics, TLS, server. */
export async function startWebhook(
  settings: WebhookSettings,
  deps: WebhookDependencies,
): Promise<RunningWebhook> {
  const { log } = deps;
  const clock = deps.clock ?? systemClock;
  const { allowlist, server: net } = settings;
  const publicKeyPem = readPublicKey(allowlist.publicKeyFile);
  const source =
    deps.source ?? createAllowlistSource(allowlist.source, sourceOptions(settings, deps));
  let metrics: WebhookMetrics | undefined;
  const holder = new AllowlistHolder({
    source,
    publicKeyPem,
    tags: settings.resolveTags,
    clock,
    log,
    onRefresh: (outcome) => metrics?.refreshed(outcome),
    fetchDeadlineMs: parseDuration(allowlist.fetchTimeout) + 1000,
  });
  metrics = new WebhookMetrics(holder, clock);
  const tls: TlsMaterial | undefined = net.insecureHttp
    ? undefined
    : await readTls({ certFile: net.tlsCertFile ?? '', keyFile: net.tlsKeyFile ?? '' });
  let draining = false;
  const server = createWebhookServer({
    holder,
    draining: () => draining,
    metrics,
    log,
    clock,
    defaultMode: settings.defaultMode,
    timeouts: {
      requestMs: parseDuration(net.requestTimeout),
      headersMs: parseDuration(net.headersTimeout),
      keepAliveMs: parseDuration(net.keepAliveTimeout),
    },
    admit: {
      resolveTags: settings.resolveTags,
      unwatchedRegistries: settings.unwatchedRegistries,
      failureMode: allowlist.failureMode,
      exemptNamespaces: settings.exemptNamespaces,
      // Globs in the canonical form references get, so `Host:0443` in settings matches.
      ...(settings.registries && { registries: settings.registries.map(canonicalRegistry) }),
      ...(settings.breakGlass.annotation && {
        breakGlassAnnotation: settings.breakGlass.annotation,
      }),
    },
    ...(tls && { tls }),
  });
  const watcher =
    tls && net.tlsCertFile && net.tlsKeyFile
      ? watchTls(
          server as HttpsServer,
          { certFile: net.tlsCertFile, keyFile: net.tlsKeyFile },
          tls,
          {
            intervalMs: parseDuration(net.tlsReloadInterval),
            log,
            onReload: (result) => metrics?.tlsReloads.inc({ result }),
          },
        )
      : undefined;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(net.port, net.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `${tls ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  log.info('admission webhook listening', {
    url,
    source: source.location,
    defaultMode: settings.defaultMode,
    failureMode: allowlist.failureMode,
  });
  const firstRefresh = holder.start(refreshIntervalMs(settings));
  return {
    url,
    holder,
    metrics,
    firstRefresh,
    reloadTls: () => watcher?.check() ?? Promise.resolve(false),
    async close(drainMs = 0) {
      draining = true;
      if (drainMs > 0) await new Promise((resolve) => setTimeout(resolve, drainMs));
      holder.stop();
      watcher?.stop();
      metrics.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readPublicKey(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read the allowlist public key ${file}: ${(error as Error).message}`,
    );
  }
  try {
    createPublicKey(pem);
  } catch {
    throw new ConfigError(
      `${file} is not a PEM public key: use the allowlist public key (the stack output AllowlistPublicKeyCommand writes it)`,
    );
  }
  return pem;
}

function sourceOptions(settings: WebhookSettings, deps: WebhookDependencies) {
  const { allowlist } = settings;
  const s3 =
    deps.s3 ??
    (allowlist.source.startsWith('s3://')
      ? new S3Client({
          ...(allowlist.region && { region: allowlist.region }),
          ...(allowlist.s3Endpoint && { endpoint: allowlist.s3Endpoint, forcePathStyle: true }),
        })
      : undefined);
  return {
    maxBytes: allowlist.maxBytes,
    deadlineMs: parseDuration(allowlist.fetchTimeout),
    ...(allowlist.bundle && { bundle: allowlist.bundle }),
    ...(s3 && { s3 }),
    ...(allowlist.caFile && { ca: readFileSync(allowlist.caFile, 'utf8') }),
  };
}
