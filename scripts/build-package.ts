/**
 * Builds construct/dist, what the `registry-watcher-cdk` package ships (construct/package.json
 * `files`); its `prepack` runs this, so `npm pack ./construct` always packs a fresh build:
 *   - infra/index.ts and what it imports, compiled by tsc with declarations
 *     (tsconfig.package.json), and the default policy beside the compiled props;
 *   - every function bundled now, with the options synth uses in a checkout
 *     (infra/function-bundling.ts), into dist/lambda/<name>/: the package needs neither
 *     esbuild nor the functions' sources (docs/deploy.md "As a package").
 *
 *   tsx scripts/build-package.ts
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { esbuildOptions } from '../infra/function-bundling';
import { FUNCTION_NAMES, PREBUNDLED_FOLDER } from '../infra/watcher-function';

const ROOT = join(__dirname, '..');
const DIST = join(ROOT, 'construct', 'dist');

export function buildPackage(): void {
  rmSync(DIST, { recursive: true, force: true });
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.package.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  copyFileSync(join(ROOT, 'infra', 'policy.yaml'), join(DIST, 'infra', 'policy.yaml'));
  // tsc copies the app's manifest (shared/version.ts imports it); the code reads its version only.
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  writeFileSync(join(DIST, 'package.json'), `${JSON.stringify({ version }, null, 2)}\n`);
  for (const name of FUNCTION_NAMES) {
    buildSync(
      esbuildOptions(
        join(ROOT, 'functions', name, 'handler.ts'),
        join(DIST, PREBUNDLED_FOLDER, name),
      ),
    );
  }
}

if (require.main === module) buildPackage();
