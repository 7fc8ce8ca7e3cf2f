import { readFileSync } from 'node:fs';
import { type Command, CommanderError } from 'commander';
import { RegistryWatcherError } from '../domain/errors';

/**
 * What every command line of the project shares: the `registry-watcher` CLI (cli/) and the
 * webhook image's own command (cluster/), which must not import cli/.
 */

/** Where commands write; tests pass their own to capture output. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** A failure the user can fix: printed without a stack trace, exit code 1. */
export class CliFailure extends RegistryWatcherError {
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: { cause?: unknown },
  ) {
    super('INVALID_ARGUMENT', message, options);
  }
}

export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliFailure(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/** Our named errors are user-facing; anything else is a bug and keeps its stack. */
function userMessage(error: unknown): string | undefined {
  if (error instanceof CliFailure || error instanceof RegistryWatcherError) return error.message;
  return undefined;
}

/** Runs a command tree and maps its outcome to an exit code: 0 ok, 1 bad input, 2 usage. */
export async function runProgram(program: Command, argv: string[], io: CliIo): Promise<number> {
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const message = userMessage(error);
    if (message === undefined) throw error;
    io.err(`error: ${message}`);
    return error instanceof CliFailure ? error.exitCode : 1;
  }
}
