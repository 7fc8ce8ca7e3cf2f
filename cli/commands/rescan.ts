import { hostname } from 'node:os';
import type { Command } from 'commander';
import type * as z from 'zod';
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
  settingsOfEnvironment,
} from '../../shared/composition/rescan-planner';
import { emptyTotals, TOTALS_KEYS } from '../../shared/domain/rescan';
import { loadPolicyFile } from '../../shared/policy-file';
import { rescanEnvironment } from '../../shared/rescan-environment';
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

/**
 * The planner's environment schema with what the CLI does without: the continuation queue
 * (the CLI loops instead), the evaluate queue on a dry run, the region (the SDK's). The
 * policy is a file the CLI reads itself, so it is required.
 */
const cliEnvironment = rescanEnvironment
  .partial({ EVALUATE_QUEUE_URL: true, CONTINUATION_QUEUE_URL: true, AWS_REGION: true })
  .required({ POLICY_FILE: true });

type CliEnvironment = z.infer<typeof cliEnvironment>;

interface FlagOf {
  flag: string;
  /** What the flag names, for "name … with --flag" when it is missing. */
  what?: string;
  /** The variable read when the flag is not given (as the function reads it). */
  fallback?: boolean;
  /** A problem with it is bad input (exit 1), not usage (exit 2): as rate lists always were. */
  input?: boolean;
}

/** Each variable of the schema the CLI sets, and the flag that sets it. */
const FLAGS = new Map<keyof CliEnvironment, FlagOf>([
  ['TABLE_NAME', { flag: '--table', what: 'the verdict table', fallback: true }],
  ['EVALUATE_QUEUE_URL', { flag: '--queue-url', what: 'the evaluate queue', fallback: true }],
  ['POLICY_FILE', { flag: '--policy', what: 'the policy file', fallback: true }],
  ['AWS_REGION', { flag: '--region' }],
  ['REGISTRIES', { flag: '--registry' }],
  ['REPOSITORIES', { flag: '--repository' }],
  ['SCANNING_MODE', { flag: '--scanning' }],
  ['RATE_LIMITS', { flag: '--rates', input: true }],
  ['TABLE_SCAN_SEGMENTS', { flag: '--segments' }],
  ['MAX_SCANS_PER_RUN', { flag: '--max-scans' }],
  ['SCAN_RENEW_AHEAD', { flag: '--renew-ahead' }],
  ['VERDICT_TOPIC_ARN', { flag: '--digest-topic' }],
]);

/** The flags as the planner's environment variables (lists comma-joined, as the function reads them). */
function environmentOf(flags: RescanFlags): Record<string, string | undefined> {
  const list = (values: string[]) => (values.length > 0 ? values.join(',') : undefined);
  return {
    TABLE_NAME: flags.table ?? process.env.TABLE_NAME,
    EVALUATE_QUEUE_URL: flags.queueUrl ?? process.env.EVALUATE_QUEUE_URL,
    POLICY_FILE: flags.policy ?? process.env.POLICY_FILE,
    AWS_REGION: flags.region,
    REGISTRIES: list(flags.registry),
    REPOSITORIES: list(flags.repository),
    SCANNING_MODE: flags.scanning,
    RATE_LIMITS: flags.rates,
    TABLE_SCAN_SEGMENTS: flags.segments,
    MAX_SCANS_PER_RUN: flags.maxScans,
    SCAN_RENEW_AHEAD: flags.renewAhead,
    VERDICT_TOPIC_ARN: flags.digestTopic,
  };
}

/** The flags read through the planner's schema; every problem named by its flag. */
function parseFlags(flags: RescanFlags): CliEnvironment {
  const given = environmentOf(flags);
  if (!given.EVALUATE_QUEUE_URL && !flags.dryRun) {
    throw new CliFailure(
      'name the evaluate queue with --queue-url (or EVALUATE_QUEUE_URL), or pass --dry-run',
      2,
    );
  }
  const parsed = cliEnvironment.safeParse(given);
  if (parsed.success) return parsed.data;
  let exitCode = 1;
  const problems = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0]) as keyof CliEnvironment;
    const of = FLAGS.get(key);
    if (!of) return `${key}: ${issue.message}`;
    if (!of.input) exitCode = 2;
    const value = given[key];
    if (value === undefined) {
      return `name ${of.what ?? 'a value'} with ${of.flag}${of.fallback ? ` (or ${key})` : ''}`;
    }
    return `${of.flag} ${value}: ${issue.message}`;
  });
  throw new CliFailure(problems.join('\n'), exitCode);
}

async function settingsOf(flags: RescanFlags): Promise<RescanSettings> {
  const env = parseFlags(flags);
  const region = env.AWS_REGION;
  const clients = rescanClients(region);
  const registries =
    env.REGISTRIES.length > 0
      ? env.REGISTRIES
      : await ownRegistry(region ?? (await defaultRegion()), clients);
  return {
    ...settingsOfEnvironment(env, { policy: loadPolicyFile(env.POLICY_FILE), registries }),
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
