import type { Command } from 'commander';
import { withExamples } from '../../shared/command-line/help';
import { type OutputFlags, renderOne, withOutput } from '../../shared/command-line/output';
import type { WhatIfReport } from '../../shared/domain/what-if';
import { loadPolicyFile } from '../../shared/policy-file';
import { whatIf } from '../../shared/services/fleet-questions';
import { type CliIo, instantFlag } from '../io';
import { type TableFlags, withQuestionPorts, withTableFlags } from '../table-source';

interface WhatIfFlags extends OutputFlags, TableFlags {
  policy: string;
  now?: string;
  limit: string;
}

export function registerWhatIf(program: Command, io: CliIo): void {
  const command = program
    .command('what-if')
    .description(
      'Replay a candidate policy over every current digest’s stored findings: which verdicts would change, grouped by transition, repository and reason (writes nothing)',
    )
    .requiredOption('--policy <file>', 'the candidate policy YAML')
    .option('--now <iso>', 'judge at this time (default: now)')
    .option('--limit <n>', 'changes listed in the text output', '50');
  withTableFlags(command);
  withOutput(command, { default: 'text' });
  withExamples(command, [
    [
      'What a stricter policy would do to the deployed fleet',
      'registry-watcher what-if --policy new-policy.yaml --table registry-watcher-verdicts',
    ],
    [
      'On the table npm start leaves, every change as JSON',
      'registry-watcher what-if --policy infra/policy.yaml --local -o json',
    ],
  ]);
  command.action(async (flags: WhatIfFlags) => {
    const policy = loadPolicyFile(flags.policy);
    const now = (flags.now ? instantFlag(flags.now, '--now') : () => new Date())();
    const report = await withQuestionPorts(flags, ({ fleet }) => whatIf(fleet, policy, now));
    const limit = Number.parseInt(flags.limit, 10) || 50;
    io.out(renderOne(flags.output, report, () => text(report, limit)));
  });
}

function text(r: WhatIfReport, limit: number): string {
  const lines = [
    `policy ${r.policyHash.slice(0, 19)}…: ${r.changed} of ${r.digests} current digest(s) would change verdict (${r.replayed} replayed from stored facts, ${r.notReplayable} without facts to replay); nothing was written`,
  ];
  const group = (title: string, rows: { count: number }[], label: (row: never) => string) => {
    if (rows.length === 0) return;
    lines.push(
      title,
      ...rows.map((row) => `  ${String(row.count).padStart(7)}  ${label(row as never)}`),
    );
  };
  group('By transition', r.byTransition, (row: { transition: string }) => row.transition);
  group('By repository', r.byRepository, (row: { repository: string }) => row.repository);
  group('By reason', r.byReason, (row: { reason: string }) => row.reason);
  if (r.changes.length > 0) lines.push('Changes');
  for (const c of r.changes.slice(0, limit)) {
    const tags = c.tags.length ? ` [${c.tags.join(', ')}]` : '';
    lines.push(`  ${`${c.from} → ${c.to}`.padEnd(16)} ${c.image}${tags}  ${c.reasons.join(', ')}`);
  }
  if (r.changes.length > limit) {
    lines.push(`  … and ${r.changes.length - limit} more (-o json lists all)`);
  }
  return lines.join('\n');
}
