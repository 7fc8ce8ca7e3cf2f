/**
 * The Lambda functions read the policy as the JSON infra renders at synth (docs/deploy.md),
 * so no function bundles a YAML parser: each function's bundle (the esbuild build synth
 * runs, read through its metafile, on-demand chunks included) has no input of the `yaml`
 * package and none of the policy file's YAML side.
 */
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { esbuildOptions } from '../../infra/function-bundling';
import { FUNCTION_NAMES } from '../../infra/watcher-function';
import { ROOT } from '../../scripts/module-graph';

const FORBIDDEN = [
  /node_modules\/yaml\//,
  /^shared\/domain\/policy-yaml\.ts$/,
  /^shared\/policy-file\.ts$/,
];

const inputs = new Map<string, string[]>();

beforeAll(async () => {
  for (const name of FUNCTION_NAMES) {
    const result = await build({
      ...esbuildOptions(join(ROOT, 'functions', name, 'handler.ts'), join(ROOT, 'cdk.out', 'x')),
      write: false,
      metafile: true,
    });
    inputs.set(name, Object.keys((result.metafile as Metafile).inputs));
  }
}, 120_000);

const of = (name: string) => inputs.get(name) ?? [];

describe('the Lambda bundles', () => {
  it('THEN their inputs are read: the handlers, and the policy validation where a function judges', () => {
    for (const name of FUNCTION_NAMES) expect(of(name)).toContain(`functions/${name}/handler.ts`);
    for (const name of ['evaluate', 'allowlist', 'rescan-planner']) {
      expect(of(name)).toContain('shared/domain/policy.ts');
    }
    // The pattern matches the package's files as esbuild names them (the check can fail).
    const yaml = require.resolve('yaml');
    expect(FORBIDDEN[0]?.test(yaml.slice(yaml.indexOf('node_modules/')))).toBe(true);
  });

  it.each(
    FUNCTION_NAMES.flatMap((name) =>
      FORBIDDEN.map((pattern) => [name, String(pattern), pattern] as const),
    ),
  )('THEN %s has no input matching %s', (name, _pattern, pattern) => {
    expect(of(name).filter((input) => pattern.test(input))).toEqual([]);
  });
});
