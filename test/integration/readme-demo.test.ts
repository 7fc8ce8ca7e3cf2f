import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';

// The README's "Asking the table" shows real output of npm start and of the three questions:
// this runs each of its commands on a fresh npm start and checks the lines it shows are there.

const GAP = '…';

interface Step {
  command: string;
  shown: string[];
}

/** The `console` blocks of that section: `$ ` lines are commands, the lines after them their output. */
function demoSteps(readme: string): Step[] {
  const start = readme.indexOf('### Asking the table');
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  const steps: Step[] = [];
  for (const block of section.matchAll(/```console\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').replace(/\n$/, '').split('\n')) {
      if (line.startsWith('$ ')) steps.push({ command: line.slice(2), shown: [] });
      else steps.at(-1)?.shown.push(line);
    }
  }
  return steps;
}

/** The CLI arguments of a shown command, reading the test's data folder instead of `.local`. */
function argsOf(command: string, data: string): string[] {
  if (command === 'npm start') return ['local', '--data', data];
  const [bin, ...args] = command.split(/\s+/);
  if (bin !== 'registry-watcher')
    throw new Error(`README shows a command this test cannot run: ${command}`);
  return args.includes('--local') ? [...args, '--data', data] : args;
}

/**
 * The first run of shown lines (between `…`) that the output does not have where it should:
 * each run contiguous, the runs in order, anchored at the start and end unless a `…` is there.
 */
function firstMissing(shown: string[], output: string[]): string[] | undefined {
  const runs: string[][] = [[]];
  for (const line of shown) {
    if (line.trim() === GAP) runs.push([]);
    else runs.at(-1)?.push(line);
  }
  let at = 0;
  for (const [i, run] of runs.entries()) {
    if (run.length === 0) continue;
    const anchoredStart = i === 0;
    const anchoredEnd = i === runs.length - 1;
    let found = -1;
    for (let j = at; j + run.length <= output.length; j++) {
      if (run.every((line, k) => output[j + k] === line)) {
        found = j;
        if (!anchoredEnd || j + run.length === output.length) break;
        found = -1;
      }
      if (anchoredStart) break;
    }
    if (found < 0) return run;
    at = found + run.length;
  }
  return undefined;
}

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const steps = demoSteps(readme);
const data = mkdtempSync(join(tmpdir(), 'rw-readme-'));
afterAll(() => rmSync(data, { recursive: true, force: true }));

it('the README shows npm start, an escalation, explain, search and what-if', () => {
  expect(steps.map((s) => s.command.split(' ').slice(0, 2).join(' '))).toEqual([
    'npm start',
    'registry-watcher explain',
    'registry-watcher search',
    'registry-watcher search',
    'registry-watcher what-if',
  ]);
  expect(steps[0]?.shown).toContain(
    '  SNS [registry-watcher] WORSE FAIL (+1 blocking): prod/api:1.3.0',
  );
});

it('every command the README shows prints the lines it shows, in order', async () => {
  for (const step of steps) {
    const { code, out, err } = await runCli(argsOf(step.command, data));
    expect({ command: step.command, code, err: code === 0 ? '' : err }).toEqual({
      command: step.command,
      code: 0,
      err: '',
    });
    const output = out.replace(/\n$/, '').split('\n');
    expect({ command: step.command, missing: firstMissing(step.shown, output) }).toEqual({
      command: step.command,
      missing: undefined,
    });
  }
}, 120_000);

it('the matcher refuses lines out of order, changed, or beyond the output', () => {
  const output = ['a', 'b', 'c', 'd'];
  expect(firstMissing(['a', GAP, 'c', 'd'], output)).toBeUndefined();
  expect(firstMissing([GAP, 'b', 'c', GAP], output)).toBeUndefined();
  expect(firstMissing(['a', 'b', 'c', 'd'], output)).toBeUndefined();
  expect(firstMissing([GAP, 'c', GAP, 'b', GAP], output)).toEqual(['b']);
  expect(firstMissing(['b', GAP], output)).toEqual(['b']);
  expect(firstMissing([GAP, 'c'], output)).toEqual(['c']);
  expect(firstMissing(['a', 'c', GAP], output)).toEqual(['a', 'c']);
  expect(firstMissing(['a', 'b', 'c'], output)).toEqual(['a', 'b', 'c']);
});
