import type { Command } from 'commander';
import { withExamples } from '../../shared/command-line/help';
import { type OutputFlags, renderOne, withOutput } from '../../shared/command-line/output';
import type { SearchQuery } from '../../shared/domain/fleet-search';
import { type SearchResult, searchFleet } from '../../shared/services/fleet-questions';
import { CliFailure, type CliIo } from '../io';
import { type TableFlags, withQuestionPorts, withTableFlags } from '../table-source';

interface SearchFlags extends OutputFlags, TableFlags {
  package?: string;
}

export function registerSearch(program: Command, io: CliIo): void {
  const command = program
    .command('search')
    .description(
      'Which current digests, repositories and tags carry a vulnerability or a package, with verdict, fix version and deadline',
    )
    .argument('[id]', 'a finding id (CVE-…, GHSA-…), as the scanner names it')
    .option('--package <name[@version]>', 'a package name, optionally at one version');
  withTableFlags(command);
  withOutput(command, { default: 'text' });
  withExamples(command, [
    [
      'Where the fleet carries a CVE',
      'registry-watcher search CVE-2024-37371 --table registry-watcher-verdicts',
    ],
    [
      'Every digest with one version of a package, on the table npm start leaves, as JSON',
      'registry-watcher search --package libssl3@3.0.14 --local -o json',
    ],
  ]);
  command.action(async (id: string | undefined, flags: SearchFlags) => {
    const query = queryOf(id, flags.package);
    const result = await withQuestionPorts(flags, ({ fleet }) => searchFleet(fleet, query));
    io.out(renderOne(flags.output, result, () => text(result)));
  });
}

function queryOf(id: string | undefined, pkg: string | undefined): SearchQuery {
  if ((id === undefined) === (pkg === undefined)) {
    throw new CliFailure('give a finding id (CVE-…) or --package NAME[@VERSION], one of them', 2);
  }
  if (id !== undefined) return { kind: 'finding', id };
  const at = (pkg ?? '').lastIndexOf('@');
  // `@scope/name` (npm) starts with @: a version follows a later @ only.
  if (at <= 0) return { kind: 'package', name: pkg ?? '' };
  return { kind: 'package', name: (pkg ?? '').slice(0, at), version: (pkg ?? '').slice(at + 1) };
}

function text(r: SearchResult): string {
  const what =
    r.query.kind === 'finding'
      ? r.query.id
      : `package ${r.query.name}${r.query.version ? `@${r.query.version}` : ''}`;
  const lines = [`${what}: ${r.digests} current digest(s) in ${r.repositories} repositories`];
  for (const h of r.hits) {
    const tags = h.tags.length ? ` [${h.tags.join(', ')}]` : '';
    const manifest =
      h.manifest === h.image.slice(h.image.lastIndexOf('@') + 1)
        ? ''
        : ` (platform ${h.manifest.slice(0, 19)})`;
    lines.push(
      `  ${h.verdict.padEnd(7)} ${h.severity.padEnd(13)} ${h.image}${tags}${manifest}`,
      `          ${h.finding} ${h.package ?? ''}  ${h.fixedIn ? `fix ${h.fixedIn}` : 'no fix version'}${h.deadline ? `  deadline ${h.deadline}` : ''}`,
    );
  }
  return lines.join('\n');
}
