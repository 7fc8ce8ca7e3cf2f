import type { Command } from 'commander';
import { normaliseScanFindings } from '../../shared/adapters/aws/ecr-findings';
import { withExamples } from '../../shared/command-line/help';
import { type OutputFlags, renderOne, withOutput } from '../../shared/command-line/output';
import { evaluate } from '../../shared/domain/evaluate';
import { parseImageReference } from '../../shared/domain/image-ref';
import { POLICY_LIMITS } from '../../shared/domain/policy-bounds';
import { parsePolicyBytes } from '../../shared/domain/policy-yaml';
import { parsePreviousEvaluation } from '../../shared/domain/previous-schema';
import type { Evaluation } from '../../shared/domain/verdict';
import { CliFailure, type CliIo, readBytes, readJson } from '../io';

interface EvaluateFlags extends OutputFlags {
  policy: string;
  findings: string;
  image?: string;
  previous?: string;
  now?: string;
}

const DEFAULT_IMAGE = `local.invalid/image@sha256:${'0'.repeat(64)}`;

export function registerEvaluate(program: Command, io: CliIo): void {
  const command = program
    .command('evaluate')
    .description('Judge one image offline and print the verdict (default: JSON)')
    .requiredOption('--policy <file>', 'policy YAML file')
    .requiredOption('--findings <file>', 'a DescribeImageScanFindings response (JSON)')
    .option(
      '--image <ref>',
      'registry/repository@sha256:... (repository rules and exceptions use it)',
    )
    .option('--previous <file>', 'the previous verdict JSON (for grace periods)')
    .option('--now <iso>', 'evaluation time (default: now)');
  withOutput(command, { default: 'json' });
  withExamples(command, [
    [
      'Judge a scan result against the policy, as the evaluate function would',
      'registry-watcher evaluate --policy infra/policy.yaml --findings events/ecr/describe-image-scan-findings-basic.json',
    ],
    [
      'As a repository of the policy sees it, at a fixed time, in short',
      `registry-watcher evaluate --policy infra/policy.yaml --findings findings.json --image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/api@sha256:${'1'.repeat(64)} --now 2026-11-23T09:00:00Z -o text`,
    ],
  ]);
  command.action((flags: EvaluateFlags) => {
    const ref = parseImageReference(flags.image ?? DEFAULT_IMAGE);
    if (!ref.digest)
      throw new CliFailure(`--image ${flags.image} must be pinned by digest (@sha256:...)`);
    const now = flags.now ? new Date(flags.now) : new Date();
    if (Number.isNaN(now.getTime()))
      throw new CliFailure(`--now ${flags.now} is not an ISO 8601 time`);
    const evaluation = evaluate({
      image: { registry: ref.registry, repository: ref.repository, digest: ref.digest },
      scan: normaliseScanFindings(readJson(flags.findings), flags.findings),
      ...(flags.previous && {
        previous: parsePreviousEvaluation(readJson(flags.previous), flags.previous),
      }),
      policy: parsePolicyBytes(readBytes(flags.policy, POLICY_LIMITS.maxBytes), flags.policy),
      now,
    });
    io.out(renderOne(flags.output, evaluation, () => summary(evaluation)));
  });
}

function summary(e: Evaluation): string {
  return [
    `${e.verdict} (max severity ${e.maxSeverity}, policy ${e.policyHash.slice(0, 19)})`,
    ...e.reasons.map((r) => `  ${r.effect.padEnd(4)} ${r.code}: ${r.message}`),
    ...(e.deadline ? [`  deadline ${e.deadline}`] : []),
    ...(e.expiresAt ? [`  admitted until ${e.expiresAt}`] : []),
  ].join('\n');
}
