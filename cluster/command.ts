import { Logger } from '@aws-lambda-powertools/logger';
import { type Command, Option } from 'commander';
import { withExamples } from '../shared/command-line/help';
import { type CliIo, readText } from '../shared/command-line/io';
import { type OutputFormat, renderManifests, withOutput } from '../shared/command-line/output';
import { parseDuration } from '../shared/domain/duration';
import { KYVERNO_KINDS, type KyvernoKind, kyvernoPolicyYaml } from './kyverno/policy';
import { resolveSettings, type WebhookSettingsInput } from './webhook/config';
import { startWebhook } from './webhook/start';

interface WebhookFlags {
  config?: string;
  allowlist?: string;
  bundle?: string;
  key?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
  host?: string;
  port?: string;
  refresh?: string;
  failureMode?: 'closed' | 'open';
  mode?: 'enforce' | 'warn';
  resolveTags?: boolean;
  unwatched?: 'deny' | 'warn' | 'allow';
  registry?: string[];
  exemptNamespace?: string[];
  s3Endpoint?: string;
  region?: string;
  ca?: string;
  shutdownDelay: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `cluster webhook` and `cluster kyverno-policy`: the webhook image runs only these. */
export function registerCluster(program: Command, io: CliIo): void {
  const cluster = program
    .command('cluster')
    .description('In-cluster enforcement (admission webhook, Kyverno policy)');
  const webhook = cluster
    .command('webhook')
    .description('Run the admission webhook that admits only allowlisted digests')
    .option('--config <file>', 'webhook settings YAML (the ConfigMap); flags override it')
    .option(
      '--allowlist <url|file>',
      's3://bucket/allowlist.json, https://…/allowlist.json or a file',
    )
    .option('--bundle <url|file>', 'the sigstore bundle (default: <allowlist>.sigstore.json)')
    .option('--key <pem>', 'public key the allowlist is signed with')
    .option('--tls-cert <file>', 'serving certificate (PEM), reloaded when it changes')
    .option('--tls-key <file>', 'serving key (PEM)')
    .option('--insecure-http', 'serve plain HTTP (local runs only)')
    .option('--host <address>', 'listen address (default 0.0.0.0)')
    .option('--port <n>', 'listen port (default 8443; 0 picks a free one)')
    .option(
      '--refresh <duration>',
      'allowlist refresh interval (default 2s for s3:// and https://, 30s for a file)',
    )
    .option('--failure-mode <closed|open>', 'past validUntil: deny (closed) or admit (open)')
    .option('--mode <enforce|warn>', 'mode of POST /validate (default enforce)')
    .option('--resolve-tags', 'admit tag-only images through the allowlist tag map, with a warning')
    .option('--unwatched <deny|warn|allow>', 'registries the allowlist does not cover')
    .option('--registry <glob>', 'a watched registry host (repeatable)', collect)
    .option('--exempt-namespace <ns>', 'a namespace never checked (repeatable)', collect)
    .option('--s3-endpoint <url>', 'S3-compatible endpoint, path-style (MinIO, local servers)')
    .option('--region <region>', 'AWS region of the bucket')
    .option('--ca <file>', 'extra CA bundle for an https:// allowlist source')
    .option(
      '--shutdown-delay <duration>',
      'on SIGTERM, report not ready this long before closing',
      '5s',
    )
    .action(async (flags: WebhookFlags) => {
      const settings = resolveSettings(
        flags.config === undefined ? undefined : readText(flags.config),
        overrides(flags),
        flags.config,
      );
      const log = new Logger({ serviceName: 'registry-watcher-webhook' });
      const webhook = await startWebhook(settings, { log });
      io.err(`admission webhook on ${webhook.url} (allowlist ${settings.allowlist.source})`);
      await new Promise<void>((resolve) => {
        const stop = async (signal: string) => {
          log.info('shutting down', { signal });
          await webhook.close(parseDuration(flags.shutdownDelay));
          resolve();
        };
        process.once('SIGTERM', () => void stop('SIGTERM'));
        process.once('SIGINT', () => void stop('SIGINT'));
      });
    });

  withExamples(webhook, [
    [
      'On this machine, against the allowlist npm start wrote (plain HTTP, local only)',
      'registry-watcher cluster webhook --allowlist .local/allowlist/allowlist.json --key .local/allowlist/allowlist.pub --insecure-http --port 8443',
    ],
    [
      'As the Deployment runs it: settings from the ConfigMap, TLS from the mounted Secret',
      'registry-watcher cluster webhook --config /etc/registry-watcher/config.yaml --tls-cert /tls/tls.crt --tls-key /tls/tls.key',
    ],
  ]);

  const kyverno = cluster
    .command('kyverno-policy')
    .description(
      'Print a Kyverno policy that enforces the verdict attestations (ImageValidatingPolicy, or ClusterPolicy for Kyverno < 1.17)',
    )
    .requiredOption('--key <pem>', 'public key the verdict attestations are signed with')
    .requiredOption(
      '--repositories <globs...>',
      'image globs, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/*',
    )
    .option('--name <name>', 'policy name', 'registry-watcher-verdicts')
    .option('--verdicts <verdicts...>', 'admitting verdicts', ['PASS', 'WARN'])
    .option('--max-age <duration>', 'oldest attestation accepted (hours)', '48h')
    .addOption(
      new Option(
        '--kind <kind>',
        'policy kind: ImageValidatingPolicy (Kyverno >= 1.17) or ClusterPolicy',
      )
        .choices(KYVERNO_KINDS)
        .default('ImageValidatingPolicy'),
    )
    .option('--audit', 'report and warn only (Audit; tags are not rewritten)')
    .action(
      (flags: {
        key: string;
        repositories: string[];
        name: string;
        verdicts: string[];
        maxAge: string;
        kind: KyvernoKind;
        audit?: boolean;
        output: OutputFormat;
      }) => {
        io.out(
          renderManifests(
            flags.output,
            kyvernoPolicyYaml({
              publicKeyPem: readText(flags.key),
              repositories: flags.repositories.flatMap((r) => r.split(',')).filter(Boolean),
              name: flags.name,
              verdicts: flags.verdicts,
              maxAge: flags.maxAge,
              kind: flags.kind,
              failureAction: flags.audit ? 'Audit' : 'Enforce',
            }),
          ),
        );
      },
    );
  withOutput(kyverno, { default: 'yaml', formats: ['yaml', 'json'] });
  withExamples(kyverno, [
    [
      'Enforce verdict attestations on the prod repositories',
      "registry-watcher cluster kyverno-policy --key verdicts.pub --repositories '123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/*'",
    ],
    [
      'Report only, as JSON, piped to kubectl',
      "registry-watcher cluster kyverno-policy --key verdicts.pub --repositories '123456789012.dkr.ecr.eu-west-1.amazonaws.com/*' --audit -o json | kubectl apply -f -",
    ],
    [
      'A kyverno.io/v1 ClusterPolicy for clusters on Kyverno 1.13 to 1.16',
      "registry-watcher cluster kyverno-policy --key verdicts.pub --repositories '123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/*' --kind ClusterPolicy",
    ],
  ]);
}

function overrides(flags: WebhookFlags): WebhookSettingsInput {
  return {
    allowlist: {
      ...(flags.allowlist && { source: flags.allowlist }),
      ...(flags.bundle && { bundle: flags.bundle }),
      ...(flags.key && { publicKeyFile: flags.key }),
      ...(flags.refresh && { refreshInterval: flags.refresh }),
      ...(flags.failureMode && { failureMode: flags.failureMode }),
      ...(flags.s3Endpoint && { s3Endpoint: flags.s3Endpoint }),
      ...(flags.region && { region: flags.region }),
      ...(flags.ca && { caFile: flags.ca }),
    },
    ...(flags.mode && { defaultMode: flags.mode }),
    ...(flags.resolveTags && { resolveTags: true }),
    ...(flags.unwatched && { unwatchedRegistries: flags.unwatched }),
    ...(flags.registry && { registries: flags.registry }),
    ...(flags.exemptNamespace && { exemptNamespaces: flags.exemptNamespace }),
    server: {
      ...(flags.host && { host: flags.host }),
      ...(flags.port !== undefined && { port: Number(flags.port) }),
      ...(flags.tlsCert && { tlsCertFile: flags.tlsCert }),
      ...(flags.tlsKey && { tlsKeyFile: flags.tlsKey }),
      ...(flags.insecureHttp && { insecureHttp: true }),
    },
  };
}
