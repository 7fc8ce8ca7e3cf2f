import { Command } from 'commander';

/** Entry point of the `registry-watcher` command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('registry-watcher')
    .description('Judge container image digests against a policy and publish a signed allowlist.')
    .exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (isCommanderExit(error)) return error.exitCode;
    throw error;
  }
}

function isCommanderExit(error: unknown): error is { exitCode: number } {
  return typeof error === 'object' && error !== null && 'exitCode' in error;
}
