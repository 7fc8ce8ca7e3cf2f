import type { Command } from 'commander';
import { withExamples } from '../../shared/command-line/help';
import { type OutputFlags, renderOne, withOutput } from '../../shared/command-line/output';
import { VERSION } from '../../shared/version';
import type { CliIo } from '../io';

/** `--version` prints the bare version; `version` prints it with the runtime, in any format. */
export function registerVersion(program: Command, io: CliIo): void {
  program.version(VERSION, '-V, --version', 'print the version and exit');
  const command = program
    .command('version')
    .description('Print the version of registry-watcher and of the Node.js running it');
  withOutput(command, { default: 'text' });
  withExamples(command, [
    ['The version', 'registry-watcher version'],
    ['As JSON, for scripts', 'registry-watcher version -o json'],
  ]);
  command.action((flags: OutputFlags) => {
    const info = {
      name: 'registry-watcher',
      version: VERSION,
      node: process.version,
      platform: `${process.platform}/${process.arch}`,
    };
    io.out(
      renderOne(
        flags.output,
        info,
        () => `registry-watcher ${info.version} (Node.js ${info.node}, ${info.platform})`,
      ),
    );
  });
}
