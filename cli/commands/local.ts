import type { Command } from 'commander';
import type { CliIo } from '../io';
import { runLocal } from '../local/run-local';

export function registerLocal(program: Command, io: CliIo): void {
  program
    .command('local')
    .description('Run the whole pipeline on this machine with embedded defaults (npm start)')
    .option('--data <dir>', 'where local state lives', '.local')
    .action(async (flags: { data: string }) => {
      await runLocal({ dataDir: flags.data, io });
    });
}
