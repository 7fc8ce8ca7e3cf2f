import type { Command } from 'commander';
import { withExamples } from '../../shared/command-line/help';
import { type CliIo, instantFlag } from '../io';
import { runLocal } from '../local/run-local';

interface LocalFlags {
  data: string;
  allowlist?: string;
  s3Endpoint?: string;
  judgeAt?: string;
}

export function registerLocal(program: Command, io: CliIo): void {
  const command = program
    .command('local')
    .description('Run the whole pipeline on this machine with embedded defaults (npm start)')
    .option('--data <dir>', 'where local state lives', '.local')
    .option('--allowlist <target>', 'a folder, or s3://bucket/prefix (default: <data>/allowlist)')
    .option('--s3-endpoint <url>', 'S3 API server for s3:// (default: s3rver under <data>/s3)')
    .option(
      '--judge-at <iso>',
      'the instant the sample world is judged at (default: its own time, 2026-11-23T09:00Z, so the verdicts never age)',
    )
    .action(async (flags: LocalFlags) => {
      const slack = process.env.SLACK_WEBHOOK_URL;
      await runLocal({
        dataDir: flags.data,
        io,
        ...(flags.allowlist && { allowlist: flags.allowlist }),
        ...(flags.s3Endpoint && { s3Endpoint: flags.s3Endpoint }),
        ...(flags.judgeAt && { judgeAt: instantFlag(flags.judgeAt, '--judge-at') }),
        ...(slack && { slackWebhookUrl: slack }),
      });
    });
  withExamples(command, [
    ['The whole pipeline on the sample world (what npm start runs)', 'registry-watcher local'],
    [
      'Judge the same world 400 days later, publishing to a local S3 bucket',
      'registry-watcher local --judge-at 2027-12-28T09:00:00Z --allowlist s3://allowlist/current',
    ],
  ]);
}
