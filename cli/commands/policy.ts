import type { Command } from 'commander';
import { PolicyError } from '../../shared/domain/errors';
import { parsePolicy } from '../../shared/domain/policy';
import { CliFailure, type CliIo, readText } from '../io';

export function registerPolicy(program: Command, io: CliIo): void {
  const policy = program.command('policy').description('Work with policy files');
  policy
    .command('check')
    .description('Validate a policy file; errors are printed as file:line:column')
    .argument('<file>', 'policy YAML file')
    .action((file: string) => {
      try {
        const parsed = parsePolicy(readText(file), file);
        io.out(
          `${file}: valid (${parsed.repositories.length} repository rules, ${parsed.exceptions.length} exceptions, ${parsed.hash})`,
        );
      } catch (error) {
        if (!(error instanceof PolicyError)) throw error;
        io.err(error.message);
        throw new CliFailure(`${file}: ${error.issues.length} problem(s)`);
      }
    });
}
