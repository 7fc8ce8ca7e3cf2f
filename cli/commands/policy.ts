import type { Command } from 'commander';
import { withExamples } from '../../shared/command-line/help';
import { type OutputFlags, renderOne, withOutput } from '../../shared/command-line/output';
import { formatPolicyIssues, PolicyError } from '../../shared/domain/errors';
import { POLICY_LIMITS } from '../../shared/domain/policy-bounds';
import { parsePolicyBytes } from '../../shared/domain/policy-yaml';
import { CliFailure, type CliIo, readBytes } from '../io';

export function registerPolicy(program: Command, io: CliIo): void {
  const policy = program.command('policy').description('Work with policy files');
  const check = policy
    .command('check')
    .description('Validate a policy file; errors are printed as file:line:column')
    .argument('<file>', 'policy YAML file');
  withOutput(check, { default: 'text' });
  withExamples(check, [
    ['Validate the policy the stack deploys', 'registry-watcher policy check infra/policy.yaml'],
    [
      'The result as JSON (problems too, with line and column), for CI',
      'registry-watcher policy check infra/policy.yaml -o json',
    ],
  ]);
  check.action((file: string, flags: OutputFlags) => {
    try {
      const parsed = parsePolicyBytes(readBytes(file, POLICY_LIMITS.maxBytes), file);
      const warnings = parsed.warnings.map(({ line, column, path, message }) => ({
        line,
        column,
        path,
        message,
      }));
      const narrowed = parsed.repositories.filter((r) => r.registries).length;
      const result = {
        file,
        valid: true,
        repositoryRules: parsed.repositories.length,
        // Only when some rule names registries: the others match in every registry.
        ...(narrowed > 0 && { registryRules: narrowed }),
        exceptions: parsed.exceptions.length,
        hash: parsed.hash,
        warnings,
      };
      // Deprecations go to stderr in every format, so stdout stays the data.
      if (parsed.warnings.length > 0) io.err(`warning: ${formatPolicyIssues(parsed.warnings)}`);
      io.out(
        renderOne(
          flags.output,
          result,
          () =>
            `${file}: valid (${result.repositoryRules} repository rules${narrowed > 0 ? ` (${narrowed} for named registries only)` : ''}, ${result.exceptions} exceptions, ${result.hash})`,
        ),
      );
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      if (flags.output === 'text') io.err(error.message);
      else {
        const problems = error.issues.map(({ line, column, path, message }) => ({
          line,
          column,
          path,
          message,
        }));
        io.out(renderOne(flags.output, { file, valid: false, problems }, () => ''));
      }
      throw new CliFailure(`${file}: ${error.total} problem(s)`);
    }
  });
}
