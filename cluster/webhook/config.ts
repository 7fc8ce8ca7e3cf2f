import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { isDuration, parseDuration } from '../../shared/domain/duration';
import { ConfigError } from '../../shared/domain/errors';
import { globProblem } from '../../shared/domain/policy-bounds';

const duration = z.string().refine(isDuration, { error: 'use a duration such as 30s, 5m, 1h' });

/** The webhook's settings: a YAML file (the ConfigMap) overridden by command-line flags. */
export const webhookSettingsSchema = z.strictObject({
  apiVersion: z.literal('registry-watcher/v1').optional(),
  kind: z.literal('WebhookConfig').optional(),
  allowlist: z.strictObject({
    /** `s3://bucket/key`, `https://…`, or a file path. */
    source: z.string().min(1),
    /** Default: the source + `.sigstore.json`. */
    bundle: z.string().min(1).optional(),
    /** PEM public key the allowlist is signed with (the stack output). */
    publicKeyFile: z.string().min(1),
    /** Default: 2s for S3 and HTTPS (a 304 costs no body), 30s for a file (hashed whole). */
    refreshInterval: duration.optional(),
    failureMode: z.enum(['closed', 'open']).default('closed'),
    /** S3-compatible endpoint (path-style), for MinIO or local S3 servers. */
    s3Endpoint: z.url().optional(),
    region: z.string().min(1).optional(),
    /** Extra CA bundle (PEM file) for an `https://` source behind a private CA. */
    caFile: z.string().min(1).optional(),
    /** Largest document or bundle read (bytes); ~128 bytes per digest. */
    maxBytes: z
      .number()
      .int()
      .positive()
      .default(48 * 1024 * 1024),
    /** Total time one fetch may take, however slowly the source answers. */
    fetchTimeout: duration.default('20s'),
  }),
  defaultMode: z.enum(['enforce', 'warn']).default('enforce'),
  exemptNamespaces: z.array(z.string().min(1)).default([]),
  resolveTags: z.boolean().default(false),
  unwatchedRegistries: z.enum(['deny', 'warn', 'allow']).default('deny'),
  /** Globs of registry hosts the allowlist speaks for; default: those it contains. */
  registries: z
    .array(
      z
        .string()
        .min(1)
        .superRefine((value, ctx) => {
          const problem = globProblem(value);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
    )
    .optional(),
  breakGlass: z
    .strictObject({ annotation: z.string().default('registry-watcher.io/break-glass') })
    .default({ annotation: 'registry-watcher.io/break-glass' }),
  server: z
    .strictObject({
      host: z.string().default('0.0.0.0'),
      port: z.number().int().min(0).max(65535).default(8443),
      tlsCertFile: z.string().min(1).optional(),
      tlsKeyFile: z.string().min(1).optional(),
      /** Plain HTTP: for local runs only; the API server calls webhooks over HTTPS. */
      insecureHttp: z.boolean().default(false),
      tlsReloadInterval: duration.default('10s'),
      /** Whole request, headers and body: a stalled body is cut here (HTTP 408). */
      requestTimeout: duration.default('30s'),
      /** Headers alone; at most requestTimeout. */
      headersTimeout: duration.default('10s'),
      /** Idle keep-alive connection; longer than the API server's 90 s idle timeout. */
      keepAliveTimeout: duration.default('120s'),
    })
    .default({
      host: '0.0.0.0',
      port: 8443,
      insecureHttp: false,
      tlsReloadInterval: '10s',
      requestTimeout: '30s',
      headersTimeout: '10s',
      keepAliveTimeout: '120s',
    }),
});

export type WebhookSettings = z.infer<typeof webhookSettingsSchema>;
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type WebhookSettingsInput = DeepPartial<z.input<typeof webhookSettingsSchema>>;

/** Reads the YAML file (if any), lays the flags over it, validates the result. */
export function resolveSettings(
  fileText: string | undefined,
  overrides: WebhookSettingsInput,
  file = 'config',
): WebhookSettings {
  let base: Record<string, unknown> = {};
  if (fileText !== undefined) {
    try {
      base = (parseYaml(fileText) as Record<string, unknown> | null) ?? {};
    } catch (error) {
      throw new ConfigError(`${file} is not YAML: ${(error as Error).message}`, { cause: error });
    }
  }
  const merged = merge(base, overrides as Record<string, unknown>);
  const parsed = webhookSettingsSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new ConfigError(`invalid webhook settings (${file} and flags): ${problems}`, {
      cause: parsed.error,
    });
  }
  const settings = parsed.data;
  const { server } = settings;
  if (!server.insecureHttp && !(server.tlsCertFile && server.tlsKeyFile)) {
    throw new ConfigError(
      'the webhook needs --tls-cert and --tls-key (server.tlsCertFile/tlsKeyFile); use --insecure-http only for local runs',
    );
  }
  if (parseDuration(server.headersTimeout) > parseDuration(server.requestTimeout)) {
    // Node 20 then holds a stalled body until headersTimeout (the checks swap): refuse it.
    throw new ConfigError(
      `server.headersTimeout ${server.headersTimeout} is longer than server.requestTimeout ${server.requestTimeout}: headers are part of the request, make it at most that`,
    );
  }
  return settings;
}

/**
 * S3 and HTTPS answer an unchanged document with 304, so they are polled every 2 s (the
 * gate's last hop, docs/enforcement.md "Time to gate"); a file is read and hashed whole at
 * each poll and changes rarely (a ConfigMap), so it keeps 30 s.
 */
export function refreshIntervalMs(settings: WebhookSettings): number {
  const given = settings.allowlist.refreshInterval;
  if (given) return parseDuration(given);
  return /^(s3|https?):\/\//.test(settings.allowlist.source) ? 2_000 : 30_000;
}

function merge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  // No prototype: a `__proto__` key in the file stays a key (and fails the schema).
  const out: Record<string, unknown> = Object.assign(Object.create(null), base);
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = Object.hasOwn(out, key) ? out[key] : undefined;
    out[key] = isPlainObject(value) && isPlainObject(current) ? merge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
