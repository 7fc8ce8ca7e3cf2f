import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { bundleFunctions, type FunctionBundle } from '../../infra/bundle-functions';
import { FUNCTION_NAMES } from '../../infra/watcher-function';
import { cdkJsonContext } from './support';

const run = promisify(execFile);
const LIMIT = 1_000_000;

// The one test that bundles for real (local esbuild, as `npm run synth` does), with
// CloudFormation's built-in validation on.
const outdir = mkdtempSync(join(tmpdir(), 'rw-bundles-'));
let bundles: FunctionBundle[] = [];

beforeAll(() => {
  bundles = bundleFunctions({ outdir, context: cdkJsonContext(), validate: true }).bundles;
}, 90_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const bundle = (name: string) => bundles.find((b) => b.name === name) as FunctionBundle;

describe('every function bundled for real', () => {
  it('THEN there is one bundle per function folder, and synth reported nothing', () => {
    expect(bundles.map((b) => b.name).sort()).toEqual([...FUNCTION_NAMES].sort());
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports).toEqual([]);
  });

  it.each(FUNCTION_NAMES)(
    'THEN %s is one minified ESM file under 1 MB with its source map',
    (name) => {
      const b = bundle(name);
      expect(b.bytes).toBeLessThanOrEqual(LIMIT);
      expect(b.files).toEqual(expect.arrayContaining(['index.mjs', 'index.mjs.map']));
      const code = readFileSync(b.entry, 'utf8');
      // Minified: lines average thousands of characters (readable code averages ~40).
      expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
      expect(code).toContain('//# sourceMappingURL=index.mjs.map');
      // The AWS SDK is inside the bundle: the only imports left are Node built-ins.
      const imports = [
        ...code.matchAll(/(?:^|;)import\s*(?:[\w$*{}\s,]+from\s*)?["']([^"']+)["']/g),
      ].map((m) => m[1]);
      expect(imports.length).toBeGreaterThan(0);
      expect(imports.filter((i) => !i?.startsWith('node:'))).toEqual([]);
      // CommonJS dependencies inside the ESM bundle get `require` from the banner.
      expect(code.startsWith('import { createRequire as __rwCreateRequire }')).toBe(true);
    },
  );

  it.each(['evaluate', 'allowlist', 'rescan-planner'])(
    'THEN %s carries the policy beside the handler',
    (name) => {
      const b = bundle(name);
      expect(readFileSync(join(b.dir, 'policy.yaml'), 'utf8')).toBe(
        readFileSync(join(__dirname, '..', '..', 'infra', 'policy.yaml'), 'utf8'),
      );
    },
  );

  it.each(FUNCTION_NAMES)(
    'THEN %s loads in a fresh Node process and exports handler',
    async (name) => {
      const url = pathToFileURL(bundle(name).entry).href;
      const script = `const m = await import(${JSON.stringify(url)}); console.log(typeof m.handler);`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, AWS_REGION: 'eu-west-1' },
      });
      expect(stdout.trim()).toBe('function');
    },
  );
});
