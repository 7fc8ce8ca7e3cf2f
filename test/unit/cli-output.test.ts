import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parse, parseAllDocuments } from 'yaml';
import { buildProgram } from '../../cli/main';
import { fixturePath } from '../../events';
import { runCli } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'rw-cli-output-'));
const packageVersion = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string })
  .version;

describe('registry-watcher --version and version', () => {
  it.each([['--version'], ['-V']])(
    '%s prints the version of package.json and exits 0',
    async (flag) => {
      const { code, out } = await runCli([flag]);
      expect(code).toBe(0);
      expect(out).toBe(`${packageVersion}\n`);
    },
  );

  it('version says which Node.js runs it, as text, JSON or YAML', async () => {
    const text = await runCli(['version']);
    expect(text.out).toBe(
      `registry-watcher ${packageVersion} (Node.js ${process.version}, ${process.platform}/${process.arch})\n`,
    );
    const json = JSON.parse((await runCli(['version', '-o', 'json'])).out);
    expect(json).toEqual({
      name: 'registry-watcher',
      version: packageVersion,
      node: process.version,
      platform: `${process.platform}/${process.arch}`,
    });
    expect(parse((await runCli(['version', '--output', 'yaml'])).out)).toEqual(json);
  });
});

describe('-o/--output', () => {
  it('policy check: text by default; JSON and YAML carry the same result', async () => {
    const text = await runCli(['policy', 'check', 'infra/policy.yaml']);
    expect(text.out).toMatch(/^infra\/policy\.yaml: valid \(2 repository rules/);
    const json = await runCli(['policy', 'check', 'infra/policy.yaml', '-o', 'json']);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.out);
    expect(result).toMatchObject({
      file: 'infra/policy.yaml',
      valid: true,
      repositoryRules: 2,
      exceptions: 1,
      hash: expect.stringMatching(/^sha256:[a-f0-9]{64}$/),
    });
    expect(text.out).toContain(result.hash);
    const yaml = await runCli(['policy', 'check', 'infra/policy.yaml', '-o', 'yaml']);
    expect(parse(yaml.out)).toEqual(result);
  });

  it('policy check -o json: problems as data on stdout, exit code 1 as in text', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: registry-watcher/v1\nkind: Policy\ndefaults:\n  unscanned: never\n',
    );
    const { code, out, err } = await runCli(['policy', 'check', bad, '-o', 'json']);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toEqual({
      file: bad,
      valid: false,
      problems: [expect.objectContaining({ line: 4, column: 14, path: 'defaults.unscanned' })],
    });
    expect(err).toContain('1 problem(s)');
  });

  it('events parse: JSON Lines by default, a YAML stream, or a line of text per request', async () => {
    const event = fixturePath('sqs/ecr-push-in-sqs');
    const lines = (await runCli(['events', 'parse', event])).out.trim().split('\n');
    const requests = lines.map((l) => JSON.parse(l));
    expect(requests).toHaveLength(2);
    expect((await runCli(['events', 'parse', event, '-o', 'json'])).out.trim().split('\n')).toEqual(
      lines,
    );
    const yaml = (await runCli(['events', 'parse', event, '-o', 'yaml'])).out;
    expect(parseAllDocuments(yaml).map((d) => d.toJS())).toEqual(requests);
    const text = (await runCli(['events', 'parse', event, '-o', 'text'])).out;
    expect(text).toBe(`${requests[0].image} push\n${requests[1].image} scan\n`);
  });

  it('evaluate: JSON by default, the same verdict as YAML, a summary as text', async () => {
    const args = [
      'evaluate',
      '--policy',
      'infra/policy.yaml',
      '--findings',
      fixturePath('ecr/describe-image-scan-findings-basic'),
      '--image',
      `123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/api@sha256:${'1'.repeat(64)}`,
      '--now',
      '2026-11-23T00:00:00Z',
    ];
    const verdict = JSON.parse((await runCli(args)).out);
    expect(parse((await runCli([...args, '-o', 'yaml'])).out)).toEqual(verdict);
    const text = await runCli([...args, '-o', 'text']);
    expect(text.code).toBe(0);
    expect(text.out.split('\n')[0]).toBe(
      `FAIL (max severity CRITICAL, policy ${verdict.policyHash.slice(0, 19)})`,
    );
    expect(text.out).toContain('  fail VULNERABILITY: findings at or above');
  });

  it('cluster kyverno-policy: YAML by default, the same object as JSON', async () => {
    const key = join(dir, 'verdicts.pub');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(key, publicKey.export({ type: 'spki', format: 'pem' }));
    const args = ['cluster', 'kyverno-policy', '--key', key, '--repositories', 'ghcr.io/acme/*'];
    const yaml = await runCli(args);
    expect(yaml.code).toBe(0);
    const json = await runCli([...args, '-o', 'json']);
    expect(json.code).toBe(0);
    const docs = parseAllDocuments(yaml.out).map((d) => d.toJS());
    const printed = JSON.parse(json.out);
    const list = { apiVersion: 'v1', kind: 'List', items: docs };
    expect(printed).toEqual(docs.length === 1 ? docs[0] : list);
  });

  it('an unknown format is a usage error (exit 2) naming the choices', async () => {
    const { code, err } = await runCli(['policy', 'check', 'infra/policy.yaml', '-o', 'xml']);
    expect(code).toBe(2);
    expect(err).toContain("argument 'xml' is invalid");
    expect(err).toContain('text, json, yaml');
    const kyverno = await runCli([
      'cluster',
      'kyverno-policy',
      '--key',
      'k',
      '--repositories',
      'r',
      '-o',
      'text',
    ]);
    expect(kyverno.code).toBe(2);
  });

  it('--json and another -o contradict: usage error before any AWS call', async () => {
    const { code, err } = await runCli(['rescan', '--json', '-o', 'yaml']);
    expect(code).toBe(2);
    expect(err).toContain('--json and -o yaml contradict each other');
  });

  it('--json is documented as a deprecated alias where it existed', async () => {
    for (const command of ['rescan', 'replay']) {
      const { out } = await runCli([command, '--help']);
      expect(out).toMatch(/--json\s+same as -o json \(deprecated/);
      expect(out).toMatch(/-o, --output <format>/);
    }
  });
});

/** Every command that runs something, by its path under the program. */
function leaves(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  if (command.commands.length === 0) return [{ path, command }];
  return command.commands.flatMap((c) => leaves(c, [...path, c.name()]));
}

/** Splits a shell line as sh would for these examples: quotes, and nothing after a pipe. */
function words(line: string): string[] {
  const out: string[] = [];
  const pattern = /'([^']*)'|"([^"]*)"|(\|)|(\S+)/g;
  for (const m of line.matchAll(pattern)) {
    if (m[3]) break;
    out.push(m[1] ?? m[2] ?? m[4] ?? '');
  }
  return out;
}

describe('examples in every --help', () => {
  const quiet = { out: () => undefined, err: () => undefined };
  const commands = leaves(buildProgram(quiet)).filter((l) => l.path[0] !== 'help');

  it('covers the commands we know of (a new one must come with examples)', () => {
    expect(commands.map((c) => c.path.join(' ')).sort()).toEqual([
      'allowlist verify',
      'cluster kyverno-policy',
      'cluster webhook',
      'evaluate',
      'events parse',
      'explain',
      'local',
      'policy check',
      'replay',
      'rescan',
      'search',
      'verify-bundle',
      'version',
      'what-if',
    ]);
  });

  it.each(commands.map((c) => [c.path.join(' ')]))(
    '%s: at least two examples, each one a valid invocation of this very command',
    async (name) => {
      const path = name.split(' ');
      const { out, code } = await runCli([...path, '--help']);
      expect(code).toBe(0);
      const section = out.split('\nExamples:\n')[1] ?? '';
      const examples = section
        .split('\n')
        .filter((l) => l.startsWith('  registry-watcher '))
        .map((l) => words(l).slice(1));
      expect(examples.length).toBeGreaterThanOrEqual(2);
      expect(section).toMatch(/^ {2}# \S/m);
      for (const args of examples) {
        expect(args.slice(0, path.length)).toEqual(path);
        // Parse with the real option definitions; only the action is replaced.
        const ran: string[] = [];
        const program = buildProgram(quiet);
        for (const leaf of leaves(program)) {
          leaf.command.action(() => {
            ran.push(leaf.path.join(' '));
          });
        }
        await expect(program.parseAsync(args, { from: 'user' })).resolves.toBeDefined();
        expect(ran).toEqual([name]);
      }
    },
  );
});
