import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyError } from '../../shared/domain/errors';
import { POLICY_LIMITS } from '../../shared/domain/policy-bounds';
import { parsePolicy, parsePolicyBytes } from '../../shared/domain/policy-yaml';
import { nestedQuantifier } from '../../shared/domain/regex-safety';
import { runCli } from '../support/cli';

const HEAD = 'apiVersion: registry-watcher/v1\nkind: Policy\n';
const dir = mkdtempSync(join(tmpdir(), 'rw-policy-bounds-'));
const write = (name: string, data: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
};

function problems(run: () => unknown): PolicyError {
  try {
    run();
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error('expected a PolicyError');
}

/** A policy whose `block` anchor is reused by `count` repository rules. */
const reusedAnchor = (count: number) =>
  `${HEAD}defaults:\n  block: &strict { severity: HIGH, onlyFixable: false }\nrepositories:\n${Array.from(
    { length: count },
    (_, i) => `  - match: team-${i}/*\n    block: *strict`,
  ).join('\n')}\n`;

/** Nine levels of nine aliases each: 9^9 = 387 M nodes once expanded. */
const billionLaughs = () => {
  const lines = [`${HEAD}x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]`];
  for (let i = 1; i <= 9; i++) {
    lines.push(
      `x${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  }
  return `${lines.join('\n')}\n`;
};

describe('policy check: aliases', () => {
  it('a normal policy that reuses an anchor 150 times passes', () => {
    const policy = parsePolicy(reusedAnchor(150));
    expect(policy.repositories).toHaveLength(150);
    expect(policy.repositories[149]?.settings.block.severity).toBe('HIGH');
  });

  it('a billion laughs is refused at its line, by counting (time printed)', () => {
    const started = performance.now();
    const error = problems(() => parsePolicy(billionLaughs()));
    const ms = Math.round(performance.now() - started);
    console.log(`billion laughs: refused in ${ms} ms: ${error.issues[0]?.message}`);
    // Refused by counting alias expansions, not by a clock: the time is printed, not asserted
    // (a loaded machine would make a time bound flaky).
    expect(error.issues[0]?.message).toMatch(/expands to \d+ nodes through its aliases/);
  });

  it('more than 1,000 aliases are refused', () => {
    const error = problems(() => parsePolicy(reusedAnchor(1001)));
    expect(error.issues[0]?.message).toContain(`more than ${POLICY_LIMITS.maxAliases} aliases`);
    expect(error.issues[0]?.line).toBeGreaterThan(1000);
  });
});

describe('policy check: size, encoding, nesting, error count, time', () => {
  it('a file over 256 KiB is refused before parsing', () => {
    const bytes = Buffer.from(`${HEAD}# ${'x'.repeat(POLICY_LIMITS.maxBytes)}\n`);
    expect(problems(() => parsePolicyBytes(bytes, 'big.yaml')).message).toMatch(
      /^big\.yaml:1:1: the file is \d+ bytes, over the 262144/,
    );
  });

  it.each([
    ['Latin-1 é', Buffer.from(`${HEAD}exceptions:\n  - id: caf\xe9\n`, 'latin1'), 4, 12],
    [
      'a lone continuation byte',
      Buffer.concat([Buffer.from(`${HEAD}#`), Buffer.from([0x80])]),
      3,
      2,
    ],
    [
      'an overlong slash',
      Buffer.concat([Buffer.from(`${HEAD}a: `), Buffer.from([0xc0, 0xaf])]),
      3,
      4,
    ],
    [
      'a UTF-16 surrogate in UTF-8',
      Buffer.concat([Buffer.from('# '), Buffer.from([0xed, 0xa0, 0x80])]),
      1,
      3,
    ],
  ])(
    'bytes that are not UTF-8 (%s) are refused at their line, not turned into U+FFFD',
    (_, bytes, line, column) => {
      const error = problems(() => parsePolicyBytes(bytes, 'p.yaml'));
      expect(error.issues).toEqual([
        { file: 'p.yaml', line, column, path: '', message: 'not UTF-8: save the file as UTF-8' },
      ]);
    },
  );

  it('UTF-8 text with accents and emoji passes', () => {
    const text = `${HEAD}exceptions:\n  - id: CVE-1\n    repositories: [prod/*]\n    expires: 2027-01-31\n    owner: sécurité 🔒\n    reason: café\n`;
    expect(parsePolicyBytes(Buffer.from(text)).exceptions[0]?.owner).toBe('sécurité 🔒');
  });

  it('nesting deeper than 64 levels is refused', () => {
    const text = `${HEAD}defaults: ${'['.repeat(70)}${']'.repeat(70)}\n`;
    expect(problems(() => parsePolicy(text)).issues[0]?.message).toMatch(
      /nested deeper than 64|call stack/,
    );
  });

  it('15,000 bad exceptions: 50 problems listed, the rest counted (time printed)', () => {
    const text = `${HEAD}exceptions:\n${'  - { id: 1 }\n'.repeat(15_000)}`;
    const started = performance.now();
    const error = problems(() => parsePolicy(text));
    const ms = Math.round(performance.now() - started);
    console.log(
      `20,000 bad exceptions (${text.length} characters): ${error.total} problems, ${error.issues.length} lines, ${ms} ms`,
    );
    expect(error.issues).toHaveLength(POLICY_LIMITS.maxIssues + 1);
    expect(error.issues.at(-1)?.message).toBe(
      `and ${error.total - POLICY_LIMITS.maxIssues} more problem(s) not listed`,
    );
    expect(error.total).toBeGreaterThan(15_000);
  });

  it('the worst inputs of the largest size allowed each end in a policy error or a policy, never a crash (times printed)', () => {
    const fill = (unit: string) =>
      unit.repeat(Math.floor((POLICY_LIMITS.maxBytes - HEAD.length) / unit.length));
    const inputs: [string, string][] = [
      ['keys', `${HEAD}${fill('k: 1\n')}`],
      ['flow lists', `${HEAD}defaults: [${fill('[],')}]\n`],
      ['anchors', `${HEAD}${fill('- &a x\n')}`],
      ['strings', `${HEAD}x: "${fill('\\u0041')}"\n`],
      ['comments', `${HEAD}${fill('#\n')}`],
    ];
    for (const [name, text] of inputs) {
      const started = performance.now();
      try {
        parsePolicy(text);
      } catch (error) {
        expect(error).toBeInstanceOf(PolicyError);
      }
      const ms = Math.round(performance.now() - started);
      console.log(`${POLICY_LIMITS.maxBytes} bytes of ${name}: ${ms} ms`);
    }
  });
});

describe('policy check: subjectRegExp open to catastrophic backtracking', () => {
  it.each([
    '(a+)+',
    '(a*)*b',
    '(.*a){8}',
    '((ab)*c)*',
    '(?:x+)+$',
    '(a?){20}',
    '^(https://[a-z]+/)+x$',
  ])('%s is refused', (pattern) => {
    expect(nestedQuantifier(pattern)).toBeDefined();
  });

  it.each([
    '^https://github\\.com/acme/[^/]+/\\.github/workflows/release\\.yml@refs/tags/v.*$',
    '(ab)+',
    '(a|b)*',
    '(?:x+)?',
    'a{2,5}b+',
    '[(]+x',
    '\\(a+\\)+',
  ])('%s passes', (pattern) => {
    expect(nestedQuantifier(pattern)).toBeUndefined();
  });

  it('the policy names the field, line and column', () => {
    const text = `${HEAD}defaults:\n  signatures:\n    keyless:\n      - issuer: https://token.actions.githubusercontent.com\n        subjectRegExp: '^(https://[a-z]+/)+x$'\n`;
    const error = problems(() => parsePolicy(text));
    expect(error.issues[0]).toMatchObject({ path: 'defaults.signatures.keyless[0].subjectRegExp' });
    expect(error.issues[0]?.message).toContain('catastrophic backtracking');
  });

  it('the refused pattern is one V8 really takes long on', () => {
    // Measured, so the check is known to refuse what hurts: 2^24 paths on a near-miss.
    const started = performance.now();
    /^(a+)+$/.test(`${'a'.repeat(24)}!`);
    const ms = Math.round(performance.now() - started);
    console.log(`/^(a+)+$/ on 24 a's and a '!': ${ms} ms`);
    expect(ms).toBeGreaterThan(50);
  });
});

describe('CLI policy check', () => {
  it('a non-UTF-8 file: exit 1 with file:line:column', async () => {
    const file = write('latin1.yaml', Buffer.from(`${HEAD}# caf\xe9\n`, 'latin1'));
    const { code, err } = await runCli(['policy', 'check', file]);
    expect(code).toBe(1);
    expect(err).toContain(`${file}:3:6: not UTF-8`);
  });

  it('a FIFO: refused at once, not read', async () => {
    const fifo = join(dir, 'policy.fifo');
    execFileSync('mkfifo', [fifo]);
    const { code, err } = await runCli(['policy', 'check', fifo]);
    expect(code).toBe(1);
    expect(err).toContain('not a regular file');
  });

  it('counts every problem, lists 50', async () => {
    const file = write('many.yaml', `${HEAD}exceptions:\n${'  - { id: 1 }\n'.repeat(1000)}`);
    const { code, err } = await runCli(['policy', 'check', file]);
    expect(code).toBe(1);
    expect(err.split('\n').filter((l) => l.startsWith(`${file}:`))).toHaveLength(51);
    expect(err).toMatch(/: \d{4} problem\(s\)/);
  });

  it('the 150-anchor policy is valid', async () => {
    const { code, out } = await runCli([
      'policy',
      'check',
      write('anchors.yaml', reusedAnchor(150)),
    ]);
    expect(code).toBe(0);
    expect(out).toContain('valid (150 repository rules');
  });
});
