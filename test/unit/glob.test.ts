import fc from 'fast-check';
import { PolicyError } from '../../shared/domain/errors';
import { type GlobKind, type GlobSteps, matchesGlob } from '../../shared/domain/glob';
import { globProblem, POLICY_LIMITS } from '../../shared/domain/policy-bounds';
import { policyOf } from '../support/builders';

fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED ?? 20261203) });

/**
 * The reading DESIGN and docs/architecture.md give globs, written as a regular expression
 * (what glob.ts compiled to before): the oracle, on inputs small enough to backtrack on.
 */
function oracle(glob: string, kind: GlobKind): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === '*') {
      const double = glob[i + 1] === '*';
      if (double) i++;
      source += kind === 'text' || double ? '.*' : '[^/]*';
    } else if (char === '?') source += kind === 'text' ? '.' : '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

const steps = (value: string, glob: string, kind: GlobKind) => {
  const counter: GlobSteps = { steps: 0 };
  const matched = matchesGlob(value, glob, kind, counter);
  return { matched, steps: counter.steps };
};

describe('glob matching', () => {
  it('agrees with the regular-expression reading on 5,000 small globs and values', () => {
    const alphabet = fc.constantFrom('a', 'b', '/', '.', '-', '\n', '(', '\\', '$');
    const globChar = fc.oneof(alphabet, fc.constantFrom('*', '**', '?'));
    fc.assert(
      fc.property(
        fc.array(globChar, { maxLength: 8 }).map((parts) => parts.join('')),
        fc.array(alphabet, { maxLength: 10 }).map((parts) => parts.join('')),
        fc.constantFrom('path', 'text') as fc.Arbitrary<GlobKind>,
        (glob, value, kind) => {
          expect(matchesGlob(value, glob, kind)).toBe(oracle(glob, kind).test(value));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it.each([
    ['path', 16],
    ['text', 16],
  ] as const)(
    'a*a*…b (%s, %i stars) against 10,000 a: at most 2 steps per value character and glob token',
    (kind, stars) => {
      const glob = `${'a*'.repeat(stars)}b`;
      const value = 'a'.repeat(10_000);
      const tokens = 2 * stars + 1;
      const run = steps(value, glob, kind);
      expect(run.matched).toBe(false);
      // Each character visits every position once and closes over the stars once.
      expect(run.steps).toBeGreaterThanOrEqual(value.length);
      expect(run.steps).toBeLessThanOrEqual((value.length + 1) * 2 * tokens);
      // Twice the value, twice the steps (a backtracking matcher grows as n^stars).
      const half = steps(value.slice(0, 5_000), glob, kind);
      expect(run.steps).toBeLessThanOrEqual(2 * half.steps + 2 * tokens);
      // And the same glob still matches where it should.
      expect(steps(`${value}b`, glob, kind).matched).toBe(true);
    },
  );

  it('steps grow with the value times the glob, never with the ways to split the value', () => {
    const value = `${'a'.repeat(200)}/${'a'.repeat(200)}`;
    const few = steps(value, 'a*a*b', 'path').steps;
    const many = steps(value, `${'a*'.repeat(8)}b`, 'path').steps;
    // 17 tokens against 5: a few times the work, not 401^6 times.
    expect(many / few).toBeLessThanOrEqual(17 / 5 + 1);
  });
});

describe('glob bounds (policy-bounds)', () => {
  it('refuses a glob over the length or wildcard limit, and passes the ones people write', () => {
    expect(globProblem('prod/**')).toBeUndefined();
    expect(
      globProblem('https://github.com/acme/*/.github/workflows/*@refs/tags/v*'),
    ).toBeUndefined();
    expect(globProblem('*'.repeat(2 * POLICY_LIMITS.maxGlobWildcards))).toBeUndefined();
    expect(globProblem('a*'.repeat(POLICY_LIMITS.maxGlobWildcards + 1))).toMatch(
      /17 wildcards \(\*, \*\* or \?\), over 16/,
    );
    expect(globProblem('a'.repeat(POLICY_LIMITS.maxGlobLength + 1))).toMatch(
      /1025 characters, over 1024/,
    );
  });

  it.each([
    [
      'a repository rule',
      (g: string) => `repositories:\n  - match: ${JSON.stringify(g)}\n`,
      'repositories.0.match',
    ],
    [
      'an exception scope',
      (g: string) =>
        `exceptions:\n  - id: CVE-1\n    repositories: [${JSON.stringify(g)}]\n    expires: 2027-01-31\n    owner: a@b\n    reason: r\n`,
      'exceptions.0.repositories.0',
    ],
    [
      'a keyless subject',
      (g: string) =>
        `defaults:\n  signatures:\n    keyless:\n      - issuer: https://token.actions.githubusercontent.com\n        subject: ${JSON.stringify(g)}\n`,
      'defaults.signatures.keyless.0.subject',
    ],
  ])('policy check refuses %s with too many wildcards, located', (_, body, path) => {
    const glob = `${'a*'.repeat(20)}b`;
    let error: unknown;
    try {
      policyOf(body(glob));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyError);
    const issue = (error as PolicyError).issues[0];
    expect(issue?.path.replace(/\[(\d+)\]/g, '.$1')).toBe(path);
    expect(issue?.message).toMatch(/20 wildcards/);
    expect(issue?.line).toBeGreaterThan(1);
  });
});
