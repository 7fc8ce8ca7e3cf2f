import { Command } from 'commander';
import { registerCluster } from '../cluster/command';
import { registerAllowlist } from './commands/allowlist';
import { registerEvaluate } from './commands/evaluate';
import { registerEvents } from './commands/events';
import { registerExplain } from './commands/explain';
import { registerLocal } from './commands/local';
import { registerPolicy } from './commands/policy';
import { registerReplay } from './commands/replay';
import { registerRescan } from './commands/rescan';
import { registerSearch } from './commands/search';
import { registerVerifyBundle } from './commands/verify-bundle';
import { registerVersion } from './commands/version';
import { registerWhatIf } from './commands/what-if';
import { type CliIo, processIo, runProgram } from './io';

/** Each command module adds itself here (one line per module). */
const COMMANDS: ((program: Command, io: CliIo) => void)[] = [
  registerVersion,
  registerPolicy,
  registerEvents,
  registerEvaluate,
  registerLocal,
  registerCluster,
  registerAllowlist,
  registerVerifyBundle,
  registerRescan,
  registerReplay,
  registerExplain,
  registerWhatIf,
  registerSearch,
];

/** The whole command tree (tests walk it to check every command's examples). */
export function buildProgram(io: CliIo): Command {
  const program = new Command('registry-watcher')
    .description('Judge container image digests against a policy and publish a signed allowlist.')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();
  for (const register of COMMANDS) register(program, io);
  return program;
}

/** Entry point of the `registry-watcher` command; returns the process exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  return runProgram(buildProgram(io), argv, io);
}
