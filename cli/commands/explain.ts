import type { Command } from 'commander';
import { withExamples } from '../../shared/command-line/help';
import { type OutputFlags, renderOne, withOutput } from '../../shared/command-line/output';
import type { DecidingFinding } from '../../shared/domain/deciding-findings';
import type { Explanation, ImageStanding } from '../../shared/domain/explain';
import { explainReference } from '../../shared/services/explain-image';
import { type CliIo, instantFlag } from '../io';
import { type TableFlags, withQuestionPorts, withTableFlags } from '../table-source';

interface ExplainFlags extends OutputFlags, TableFlags {
  now?: string;
}

export function registerExplain(program: Command, io: CliIo): void {
  const command = program
    .command('explain')
    .description(
      'Why a digest is (not) admitted: verdict, reasons, deciding findings, exceptions, deadlines, history, what to do',
    )
    .argument(
      '<image>',
      'registry/repository@sha256:… (or :tag: every stored digest with that tag)',
    )
    .option('--now <iso>', 'judge expiries at this time (default: now)');
  withTableFlags(command);
  withOutput(command, { default: 'text' });
  withExamples(command, [
    [
      'Why the webhook denied a pod’s image (as its message says)',
      `registry-watcher explain 123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/api@sha256:${'7'.repeat(64)} --table registry-watcher-verdicts`,
    ],
    [
      'The same on the table npm start leaves, as JSON',
      'registry-watcher explain 123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/api:1.4.2 --local -o json',
    ],
  ]);
  command.action(async (image: string, flags: ExplainFlags) => {
    const now = (flags.now ? instantFlag(flags.now, '--now') : () => new Date())();
    const explained = await withQuestionPorts(flags, ({ reader, fleet }) =>
      explainReference(image, reader, now, fleet),
    );
    const data = explained.length === 1 ? explained[0] : explained;
    io.out(renderOne(flags.output, data, () => explained.map(text).join('\n\n')));
  });
}

const STANDING: Record<ImageStanding, string> = {
  admitted: 'admitted',
  warned: 'admitted with a warning',
  'never-evaluated': 'denied: never evaluated',
  pending: 'denied: pending (scan not finished)',
  failed: 'denied: failed',
  error: 'denied: the evaluation failed',
  deleted: 'denied: deleted from the registry',
  expired: 'denied: admission expired',
};

function text(e: Explanation): string {
  const lines = [
    `${e.image}${e.tags.length ? ` [${e.tags.join(', ')}]` : ''}`,
    `  ${e.verdict ?? 'no verdict'}: ${STANDING[e.standing]}`,
  ];
  if (e.evaluatedAt) {
    const scan = e.scan
      ? `; scan ${e.scan.scanner} ${e.scan.status}${e.scan.completedAt ? ` ${e.scan.completedAt}` : ''}`
      : '';
    lines.push(`  evaluated ${e.evaluatedAt}, policy ${e.policyHash?.slice(0, 19)}…${scan}`);
  }
  section(lines, 'Reasons', e.reasons, (r) => {
    const platform = r.platform ? ` [${r.platform}]` : '';
    return `${r.effect.padEnd(7)} ${r.code}${platform}: ${r.message}`;
  });
  const from = e.findingsFrom === 'facts' ? 'stored facts' : 'top findings: no facts stored';
  const others = e.otherFindings ? `; ${e.otherFindings} other finding(s) decided nothing` : '';
  section(
    lines,
    `Findings that decided it (${e.findings.length}, from the ${from}${others})`,
    e.findings,
    findingLine,
    'finding(s)',
  );
  section(lines, 'Exceptions', e.exceptions, (x) => {
    const platform = x.platform ? ` [${x.platform}]` : '';
    return `${x.id}${platform}: ${x.state}, owner ${x.owner}, until ${x.expiresAt} (covers ${x.findings.join(', ')})`;
  });
  section(lines, 'Deadlines', e.deadlines, (d) => `${d.at}  ${d.what}`);
  section(lines, 'History (newest first)', e.history, (h) => {
    const to = h.deletedAt ? 'deleted' : h.verdict;
    return `${h.at}  ${h.previousVerdict ?? 'new'} → ${to}${h.policyHash ? `  policy ${h.policyHash.slice(0, 19)}…` : ''}`;
  });
  section(lines, 'What to do', e.actions, (a) => `- ${a}`, 'step(s)');
  return lines.join('\n');
}

const ROLE: Record<DecidingFinding['role'], string> = {
  blocking: 'BLOCKING',
  grace: 'grace',
  excepted: 'excepted',
  ignored: 'ignored (no fix)',
};

function findingLine(f: DecidingFinding): string {
  const pkg = f.package ? `${f.package.name} ${f.package.version ?? ''}`.trim() : '-';
  const fix = f.fixedIn
    ? `fix ${f.fixedIn}`
    : f.fixAvailable === false
      ? 'no fix yet'
      : 'fix not reported';
  const notes = [
    ROLE[f.role],
    ...(f.platforms ?? []),
    ...(f.exploited ? ['exploited'] : []),
    ...(f.deadline ? [`until ${f.deadline}`] : []),
    ...(f.exception
      ? [
          `exception ${f.exception.state}, owner ${f.exception.owner}, until ${f.exception.expiresAt}`,
        ]
      : []),
  ];
  return `${(f.severity ?? '?').padEnd(13)} ${f.id.padEnd(18)} ${pkg}  ${fix}  ${notes.join(', ')}`;
}

/** Lines shown per section for people; `-o json` carries every item. */
const SHOWN = 20;

function section<T>(
  lines: string[],
  title: string,
  items: readonly T[],
  line: (item: T) => string,
  unit = 'item(s)',
) {
  if (items.length === 0) return;
  lines.push(title, ...items.slice(0, SHOWN).map((item) => `  ${line(item)}`));
  if (items.length > SHOWN) {
    lines.push(`  … ${items.length - SHOWN} more ${unit} (-o json lists all)`);
  }
}
