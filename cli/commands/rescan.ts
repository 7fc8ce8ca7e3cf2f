import { hostname } from 'node:os';
import type { Command } from 'commander';
import { withExamples } from '../../shared/command-line/help';
import {
  formatOf,
  type OutputFlags,
  renderOne,
  withOutput,
} from '../../shared/command-line/output';
import {
  accountRegistry,
  configuredRegion,
  plannerSetup,
  type RescanSettings,
  rescanClients,
} from '../../shared/composition/rescan-planner';
import { loadPolicyFile } from '../../shared/config';
import { isDuration, parseDuration } from '../../shared/domain/duration';
import { parseEcrRegistry } from '../../shared/domain/image-ref';
import { emptyTotals, TOTALS_KEYS } from '../../shared/domain/rescan';
import { parseRateLimits } from '../../shared/rate-limit';
import { planRescan } from '../../shared/services/rescan-planner';
import { type RescanInvocation, runRescan } from '../../shared/services/rescan-run';
import { CliFailure, type CliIo } from '../io';

interface RescanFlags extends OutputFlags {
  table?: string;
  queueUrl?: string;
  policy?: string;
  region?: string;
  registry: string[];
  repository: string[];
  scanning: string;
  rates?: string;
  segments: string;
  maxScans?: string;
  renewAhead: string;
  digestTopic?: string;
  dryRun?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRescan(program: Command, io: CliIo): void {
  const command = program
    .command('rescan')
    .description(
      'Run the nightly rescan now against AWS: re-evaluate every known digest, reconcile ECR images without a verdict, start due basic scans, mark deleted images (default credentials)',
    )
    .option('--table <name>', 'verdict table (default: $TABLE_NAME)')
    .option('--queue-url <url>', 'evaluate queue URL (default: $EVALUATE_QUEUE_URL)')
    .option('--policy <file>', 'policy YAML, for maxScanAge per repository (default: $POLICY_FILE)')
    .option('--region <region>', 'AWS region of the table and queue (default: the SDK’s)')
    .option(
      '--registry <host>',
      'ECR registry to rescan, repeatable (default: this account’s)',
      collect,
      [],
    )
    .option('--repository <glob>', 'repositories to reconcile, repeatable', collect, [])
    .option('--scanning <mode>', 'basic or enhanced (enhanced never calls StartImageScan)', 'basic')
    .option('--rates <list>', 'calls per second per API, e.g. StartImageScan=2,DescribeImages=5/10')
    .option('--segments <n>', 'parallel table Scan segments, or auto', 'auto')
    .option('--max-scans <n>', 'StartImageScan calls at most in this run')
    .option('--renew-ahead <duration>', 'start scans this long before maxScanAge runs out', '1d')
    .option(
      '--digest-topic <arn>',
      'publish the daily digest to this SNS topic when the run completes',
    )
    .option('--dry-run', 'plan and count only: nothing is sent, scanned, deleted or checkpointed');
  withOutput(command, { default: 'text', jsonAlias: true });
  withExamples(command, [
    [
      "Count what tonight's run would do, without sending or scanning anything",
      'registry-watcher rescan --table registry-watcher-verdicts --policy infra/policy.yaml --dry-run',
    ],
    [
      'Run it now, at most 500 basic scans, StartImageScan paced at 2 per second; JSON summary',
      'registry-watcher rescan --table registry-watcher-verdicts --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/evaluate --policy infra/policy.yaml --max-scans 500 --rates StartImageScan=2 -o json',
    ],
  ]);
  command.action(async (flags: RescanFlags) => {
    const format = formatOf(flags, io, command);
    const settings = await settingsOf(flags);
    const { options, stats } = plannerSetup(settings);
    let result: RescanInvocation;
    if (settings.dryRun) {
      const plan = await planRescan({ totals: emptyTotals() }, options);
      result = { outcome: 'completed', totals: plan.totals };
    } else {
      result = await runRescan(
        { kind: 'start' },
        { ...options, owner: `cli-${hostname()}-${process.pid}` },
      );
      if (result.outcome === 'busy') {
        throw new CliFailure(
          `rescan run ${result.runId} is in progress in another invocation; wait for it (its lease ends within the function timeout) and try again`,
        );
      }
    }
    const calls = stats.snapshot();
    io.out(
      renderOne(format, { ...result, dryRun: settings.dryRun === true, calls }, () =>
        summary(result, settings, calls),
      ),
    );
  });
}

async function settingsOf(flags: RescanFlags): Promise<RescanSettings> {
  const tableName = flags.table ?? process.env.TABLE_NAME;
  if (!tableName) throw new CliFailure('name the verdict table with --table (or TABLE_NAME)', 2);
  const queueUrl = flags.queueUrl ?? process.env.EVALUATE_QUEUE_URL;
  if (!queueUrl && !flags.dryRun) {
    throw new CliFailure(
      'name the evaluate queue with --queue-url (or EVALUATE_QUEUE_URL), or pass --dry-run',
      2,
    );
  }
  const policyFile = flags.policy ?? process.env.POLICY_FILE;
  if (!policyFile) throw new CliFailure('name the policy file with --policy (or POLICY_FILE)', 2);
  if (flags.scanning !== 'basic' && flags.scanning !== 'enhanced') {
    throw new CliFailure(`--scanning ${flags.scanning}: use basic or enhanced`, 2);
  }
  if (!isDuration(flags.renewAhead)) {
    throw new CliFailure(`--renew-ahead ${flags.renewAhead}: use a duration such as 1d or 12h`, 2);
  }
  for (const host of flags.registry) {
    if (!parseEcrRegistry(host)) {
      throw new CliFailure(
        `--registry ${host}: expected <account>.dkr.ecr.<region>.amazonaws.com`,
        2,
      );
    }
  }
  const region = flags.region;
  const clients = rescanClients(region);
  const registries =
    flags.registry.length > 0
      ? flags.registry
      : await ownRegistry(region ?? (await defaultRegion()), clients);
  return {
    tableName,
    ...(queueUrl && { evaluateQueueUrl: queueUrl }),
    policy: loadPolicyFile(policyFile),
    scanning: flags.scanning,
    registries,
    repositories: flags.repository.length > 0 ? flags.repository : ['**'],
    ...(flags.rates && { rates: parseRateLimits(flags.rates) }),
    segments: segmentsOf(flags.segments),
    ...(flags.maxScans !== undefined && {
      maxScansPerRun: wholeNumber(flags.maxScans, '--max-scans'),
    }),
    renewAheadMs: parseDuration(flags.renewAhead),
    ...(flags.digestTopic && { verdictTopicArn: flags.digestTopic }),
    ...(flags.dryRun && { dryRun: true }),
    clients,
  };
}

async function defaultRegion(): Promise<string> {
  const region = await configuredRegion();
  if (!region) throw new CliFailure('no AWS region configured: pass --region or set AWS_REGION', 2);
  return region;
}

async function ownRegistry(
  region: string,
  clients: Parameters<typeof accountRegistry>[1],
): Promise<string[]> {
  const registry = await accountRegistry(region, clients);
  if (!registry) {
    throw new CliFailure(
      `this account has no ECR repository in ${region}; pass --registry to name one`,
    );
  }
  return [registry];
}

function segmentsOf(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  const n = wholeNumber(value, '--segments');
  if (n < 1 || n > 64) throw new CliFailure(`--segments ${value}: use 1 to 64, or auto`, 2);
  return n;
}

function wholeNumber(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new CliFailure(`${flag} ${value} is not a whole number`, 2);
  return Number(value);
}

function summary(
  result: RescanInvocation,
  settings: RescanSettings,
  calls: Record<string, { calls: number; throttles: number }>,
): string {
  const totals = result.totals ?? emptyTotals();
  const lines = [
    `${settings.dryRun ? 'dry run (nothing sent, scanned or deleted)' : `rescan run ${result.runId}`}: ${result.outcome}`,
    `registries: ${settings.registries.join(', ')}`,
    ...TOTALS_KEYS.map((k) => `  ${k.padEnd(18)} ${totals[k]}`),
    'AWS calls:',
    ...Object.entries(calls).map(
      ([api, n]) =>
        `  ${api.padEnd(26)} ${n.calls}${n.throttles ? ` (${n.throttles} throttled)` : ''}`,
    ),
  ];
  return lines.join('\n');
}
