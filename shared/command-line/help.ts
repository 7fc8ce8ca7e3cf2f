// Commands' help text, shared by cli/ and the webhook image's command (cluster/command.ts).
import type { Command } from 'commander';

/** A commented command line, as `kubectl … --help` and `cosign … --help` list them. */
export type Example = [comment: string, commandLine: string];

/** Appends an `Examples:` section to the command's `--help`. */
export function withExamples(command: Command, examples: readonly Example[]): Command {
  const body = examples.map(([comment, line]) => `  # ${comment}\n  ${line}`).join('\n\n');
  return command.addHelpText('after', `\nExamples:\n${body}\n`);
}
