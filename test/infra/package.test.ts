/**
 * The construct as a package (docs/deploy.md "As a package"): `npm pack ./construct` once,
 * the tarball unpacked into a separate CDK app's node_modules under its name, the app
 * (test/package/consumer) type-checked against the packed declarations and synthesized with
 * cdk-nag. Offline: the app lives under .local/ of this checkout, so the package's
 * dependencies and peers resolve from this checkout's node_modules (no registry, no cache).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { readPolicyFile } from '../../shared/policy-file';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const NAME = 'registry-watcher-cdk';

interface Manifest {
  name: string;
  version: string;
  main?: string;
  types?: string;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

let work: string;
let app: string;
let installed: string;
let packed: { size: number; files: { path: string }[] };

beforeAll(() => {
  mkdirSync(join(ROOT, '.local'), { recursive: true });
  work = mkdtempSync(join(ROOT, '.local', 'package-test-'));
  const [result] = JSON.parse(
    execFileSync('npm', ['pack', './construct', '--pack-destination', work, '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  ) as [{ filename: string; size: number; files: { path: string }[] }];
  packed = result;
  app = join(work, 'app');
  cpSync(join(ROOT, 'test', 'package', 'consumer'), app, { recursive: true });
  // What `npm install ./x.tgz` does for a file: unpack it into node_modules/<name>; its
  // dependencies then resolve upwards, from this checkout's node_modules.
  installed = join(app, 'node_modules', NAME);
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', [
    '-xzf',
    join(work, result.filename),
    '-C',
    installed,
    '--strip-components=1',
  ]);
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Bare module names the shipped code and declarations load, builtins left out. */
function loadedModules(): Set<string> {
  const found = new Set<string>();
  const specifier = /(?:require\(|\bfrom\s+|import\()\s*['"]([^'"]+)['"]/g;
  for (const { path } of packed.files) {
    if (!/\.(js|d\.ts)$/.test(path) || path.startsWith('dist/lambda/')) continue;
    for (const [, spec] of readFileSync(join(installed, path), 'utf8').matchAll(specifier)) {
      const name = spec as string;
      if (name.startsWith('.') || name.startsWith('node:') || builtinModules.includes(name))
        continue;
      const parts = name.split('/');
      found.add(name.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string));
    }
  }
  return found;
}

describe('the registry-watcher-cdk package', () => {
  it('declares what construct libraries declare: entry point, types, exports, peers', () => {
    const manifest = readJson<Manifest>(join(installed, 'package.json'));
    const root = readJson<Manifest>(join(ROOT, 'package.json'));
    expect(manifest.name).toBe(NAME);
    expect(manifest.version).toBe(root.version);
    expect(manifest.exports?.['.']).toEqual({
      types: `./${manifest.types}`,
      default: `./${manifest.main}`,
    });
    for (const file of [manifest.main, manifest.types]) {
      expect(existsSync(join(installed, file as string))).toBe(true);
    }
    // Peers, not dependencies: the app's one copy of aws-cdk-lib and constructs (a second
    // copy breaks `instanceof Construct`), at least the versions this repository builds with.
    expect(manifest.peerDependencies).toEqual({
      'aws-cdk-lib': `^${root.devDependencies?.['aws-cdk-lib']}`,
      constructs: `^${root.devDependencies?.constructs}`,
    });
    expect(manifest.dependencies).not.toHaveProperty('aws-cdk-lib');
    expect(manifest.dependencies).not.toHaveProperty('constructs');
  });

  it('depends on every module its code and declarations load, at the versions tested here', () => {
    const manifest = readJson<Manifest>(join(installed, 'package.json'));
    const root = readJson<Manifest>(join(ROOT, 'package.json'));
    const loaded = loadedModules();
    // The one exception: bundling from sources, a path only a checkout takes (functionSource).
    loaded.delete('esbuild');
    const declared = { ...manifest.dependencies, ...manifest.peerDependencies };
    expect([...loaded].sort()).toEqual(Object.keys(declared).sort());
    for (const [name, version] of Object.entries(manifest.dependencies ?? {})) {
      expect(`${name}@${version}`).toBe(`${name}@${root.dependencies?.[name]}`);
    }
  });

  it('ships compiled code and prebundled functions, no TypeScript sources and no tests', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths.filter((p) => /\.ts$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    // A test folder or test file, not a name that contains the letters (attestation).
    expect(paths.filter((p) => /(^|\/)tests?(\/|$)|\.test\./.test(p))).toEqual([]);
    for (const name of [
      'evaluate',
      'attestor',
      'changes',
      'allowlist',
      'notify',
      'rescan-planner',
    ]) {
      expect(paths).toContain(`dist/lambda/${name}/index.mjs`);
    }
    // Measured 2.5 MB packed (docs/deploy.md); the bound catches a stray folder, not a byte.
    expect(packed.size).toBeLessThan(4_000_000);
  });

  it('type-checks a CDK app against the packed declarations', () => {
    execFileSync(join(BIN, 'tsc'), ['-p', join(app, 'tsconfig.json')], { cwd: app, stdio: 'pipe' });
  }, 120_000);

  it('synthesizes the app offline, cdk-nag clean, with the shipped functions inside', () => {
    execFileSync(process.execPath, ['--import', 'tsx', 'app.ts'], {
      cwd: app,
      stdio: 'pipe',
    });
    const out = join(app, 'cdk.out');
    const template = readJson<Template>(join(out, 'Platform.template.json'));
    const functions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    // attestations are on by default: the attestor is the sixth
    expect(functions).toHaveLength(6);
    // Code.S3Key is `<hash>.zip`; cdk.out stages the folder as `asset.<hash>`.
    const assets = functions.map((f) => {
      const key = (f.Properties.Code as { S3Key: string }).S3Key;
      return `asset.${key.replace(/\.zip$/, '')}`;
    });
    for (const asset of assets) {
      expect(existsSync(join(out, asset, 'index.mjs'))).toBe(true);
    }
    // The app's policy, not the package's default, is bundled beside the handlers that read
    // it, as the JSON rendered at synth.
    const policies = assets.filter((a) => existsSync(join(out, a, 'policy.json')));
    expect(policies.length).toBeGreaterThanOrEqual(2);
    for (const asset of policies) {
      expect(readFileSync(join(out, asset, 'policy.json'), 'utf8')).toBe(
        readPolicyFile(join(app, 'policy.yaml')).json,
      );
    }
  }, 300_000);
});
