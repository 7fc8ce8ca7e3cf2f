import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { bundleFunctions, type FunctionBundle } from '../../infra/bundle-functions';
import { FUNCTION_NAMES } from '../../infra/watcher-function';
import { loadPolicy } from '../../shared/config';
import { readPolicyFile } from '../../shared/policy-file';
import { cdkJsonContext } from './support';

const run = promisify(execFile);
const LIMIT = 1_000_000;

/** Module hooks that log every file a process loads (proves what a cold start reads). */
const LOAD_LOGGER = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.RW_LOAD_LOG, url + '\\n');
  return next(url, context);
}`;

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
    'THEN %s is minified ESM under 1 MB (what a cold start loads, and all of it), each file with its source map',
    (name) => {
      const b = bundle(name);
      expect(b.bytes).toBeLessThanOrEqual(LIMIT);
      expect(b.totalBytes).toBeLessThanOrEqual(LIMIT);
      expect(b.loaded[0]).toBe('index.mjs');
      const modules = b.files.filter((f) => f.endsWith('.mjs'));
      expect(modules.length).toBeGreaterThan(b.loaded.length); // some chunks load on demand
      let lines = 0;
      for (const file of modules) {
        expect(b.files).toContain(`${file}.map`);
        const code = readFileSync(join(b.dir, file), 'utf8');
        lines += code.split('\n').length;
        expect(code).toContain(`//# sourceMappingURL=${basename(file)}.map`);
        // CommonJS dependencies inside the ESM bundle get `require` from the banner.
        expect(code.startsWith('import { createRequire as __rwCreateRequire }')).toBe(true);
        // The AWS SDK is inside the bundle: imports are Node built-ins or files of the package.
        const imports = [
          ...code.matchAll(
            /(?:^|[;}])\s*(?:import|export)\s*(?:[\w$*{}\s,]*from\s*)?["']([^"']+)["']/g,
          ),
          ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
        ].map((m) => m[1] as string);
        for (const spec of imports.filter((i) => !i.startsWith('node:'))) {
          expect(b.files).toContain(relative(b.dir, join(b.dir, dirname(file), spec)));
        }
      }
      // Minified: lines average thousands of characters (readable code averages ~40).
      expect(b.totalBytes / lines).toBeGreaterThan(1000);
    },
  );

  /** The code a lazy chunk brings (its static imports too), without what cold start loads. */
  function onDemand(b: FunctionBundle, chunkPrefix: string): string {
    const lazy = b.files.filter((f) => f.startsWith(chunkPrefix) && f.endsWith('.mjs'));
    expect(lazy).toHaveLength(1);
    // The S3 client may sit in a chunk of its own, shared with another on-demand reader (the
    // KEV catalog): follow the lazy chunk's static imports, stopping at what cold start loads.
    const reached = new Set<string>();
    const visit = (file: string) => {
      if (reached.has(file) || b.loaded.includes(file)) return;
      reached.add(file);
      const code = readFileSync(join(b.dir, file), 'utf8');
      const specs = code.matchAll(
        /(?:^|[;}])\s*import\s*(?:[\w$*{}\s,]*from\s*)?["'](\.[^"']+)["']/g,
      );
      for (const m of specs) visit(relative(b.dir, join(b.dir, dirname(file), m[1] as string)));
    };
    visit(lazy[0] as string);
    return [...reached].map((f) => readFileSync(join(b.dir, f), 'utf8')).join('\n');
  }
  const coldStart = (b: FunctionBundle) =>
    b.loaded.map((f) => readFileSync(join(b.dir, f), 'utf8')).join('\n');

  it('THEN evaluate loads the S3 client only for an s3:// trusted root, never at cold start', () => {
    const b = bundle('evaluate');
    expect(onDemand(b, 'chunks/s3-object-text-')).toContain('"GetObject"');
    expect(coldStart(b)).not.toContain('"GetObject"');
  });

  it('THEN evaluate loads sigstore only when a policy rule asks for signatures, never at cold start', () => {
    const b = bundle('evaluate');
    // An error code of @sigstore/verify's (our own code names none of them).
    expect(onDemand(b, 'chunks/image-signatures-')).toContain('TLOG_INCLUSION_PROOF_ERROR');
    expect(coldStart(b)).not.toContain('TLOG_INCLUSION_PROOF_ERROR');
  });

  it('THEN changes loads the S3 client only when it parks a record, never at cold start', () => {
    const b = bundle('changes');
    const lazy = onDemand(b, 'chunks/s3-put-object-');
    expect(lazy).toContain('"PutObject"');
    // The S3 client's own configuration (its signing name), not only the command.
    expect(lazy).toContain('AmazonS3');
    expect(coldStart(b)).not.toContain('"PutObject"');
    expect(coldStart(b)).not.toContain('AmazonS3');
  });

  it.each(FUNCTION_NAMES)(
    'THEN %s loads only the SDK credential provider Lambda uses (environment) at cold start',
    (name) => {
      const b = bundle(name);
      const code = (files: string[]) =>
        files.map((f) => readFileSync(join(b.dir, f), 'utf8')).join('\n');
      // sso_start_url: the SSO provider, reached only through import() in the default chain.
      expect(code(b.files.filter((f) => f.endsWith('.mjs')))).toContain('sso_start_url');
      expect(code(b.loaded)).not.toContain('sso_start_url');
    },
  );

  it.each(FUNCTION_NAMES)(
    'THEN %s carries no browser user-agent parser (bowser), not even as an on-demand chunk',
    (name) => {
      const b = bundle(name);
      const code = b.files
        .filter((f) => f.endsWith('.mjs'))
        .map((f) => readFileSync(join(b.dir, f), 'utf8'))
        .join('\n');
      // "Amazon Silk": a browser name in bowser's parser table; the SDK's own code never says it.
      expect(readFileSync(require.resolve('bowser/es5.js'), 'utf8')).toContain('Amazon Silk');
      expect(code).not.toContain('Amazon Silk');
    },
  );

  it.each(FUNCTION_NAMES)(
    'THEN %s, loaded as deployed (no --enable-source-maps), prints stack traces in the original files',
    async (name) => {
      const b = bundle(name);
      // No environment: the handler's first step (reading it) throws from shared/ code.
      const script = `const m = await import(${JSON.stringify(pathToFileURL(b.entry).href)}); await m.handler({ Records: [] }, {}).then(() => console.log('no error'), (e) => console.log(e.stack));`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1' },
      });
      const frames = stdout.split('\n').filter((l) => l.startsWith('    at '));
      expect(frames.length).toBeGreaterThan(1);
      // The throwing frame: a TypeScript file of the project, line and column, and the
      // original name (readEnvironment…, …OptionsFromEnvironment; minified names are short).
      expect(frames[0]).toMatch(/^ {4}at \w*Environment\w* \(\/.*\/shared\/[\w/-]+\.ts:\d+:\d+\)$/);
      expect(stdout).toContain(`/functions/${name}/handler.ts:`);
      expect(stdout).not.toContain('index.mjs');
    },
    30_000,
  );

  it.each(['evaluate', 'allowlist', 'rescan-planner'])(
    'THEN %s carries the policy beside the handler as the JSON rendered at synth, with its hash',
    (name) => {
      const b = bundle(name);
      const rendered = readPolicyFile(join(__dirname, '..', '..', 'infra', 'policy.yaml'));
      expect(readFileSync(join(b.dir, 'policy.json'), 'utf8')).toBe(rendered.json);
      expect(loadPolicy({ POLICY_FILE: join(b.dir, 'policy.json') }).hash).toBe(
        rendered.policy.hash,
      );
      expect(b.files.filter((f) => f.endsWith('.yaml'))).toEqual([]);
    },
  );

  it.each(FUNCTION_NAMES)(
    'THEN %s loads in a fresh Node process, exports handler and reads exactly the files reported',
    async (name) => {
      const b = bundle(name);
      const hooks = join(outdir, 'load-logger.mjs');
      writeFileSync(hooks, LOAD_LOGGER);
      const log = join(outdir, `${name}.loads`);
      writeFileSync(log, '');
      const register = `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hooks).href)});`;
      const url = pathToFileURL(b.entry).href;
      const script = `const m = await import(${JSON.stringify(url)}); console.log(typeof m.handler);`;
      const loads = await run(
        process.execPath,
        [
          '--import',
          `data:text/javascript,${encodeURIComponent(register)}`,
          '--input-type=module',
          '-e',
          script,
        ],
        { env: { ...process.env, AWS_REGION: 'eu-west-1', RW_LOAD_LOG: log } },
      );
      expect(loads.stdout.trim()).toBe('function');
      const read = readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((u) => relative(b.dir, fileURLToPath(u)));
      expect(read.sort()).toEqual([...b.loaded].sort());
    },
    // A fresh Node process with a loader hook: seconds on a loaded machine, not a time bound.
    30_000,
  );
});
