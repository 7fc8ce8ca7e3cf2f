import type { Command } from 'commander';
import type { CliIo } from '../io';
import { runLocal } from '../local/run-local';

export function registerLocal(program: Command, io: CliIo): void {
  program
    .command('local')
    .description('Run the whole pipeline on this machine with embedded defaults (npm start)')
    .option('--data <dir>', 'where local state lives', '.local')
    .option('--allowlist <target>', 'a folder, or s3://bucket/prefix (default: <data>/allowlist)')
    .option('--s3-endpoint <url>', 'S3 API server for s3:// (default: s3rver under <data>/s3)')
    .action(async (flags: { data: string; allowlist?: string; s3Endpoint?: string }) => {
      const slack = process.env.SLACK_WEBHOOK_URL;
      await runLocal({
        dataDir: flags.data,
        io,
        ...(flags.allowlist && { allowlist: flags.allowlist }),
        ...(flags.s3Endpoint && { s3Endpoint: flags.s3Endpoint }),
        ...(slack && { slackWebhookUrl: slack }),
      });
    });
}
