/**
 * The Lambda bundles: for each function, the size of its ESM bundle (the files a cold start
 * loads; chunks behind `import()` are counted in "all KB" only) and the median time a
 * fresh Node process takes to load the bundled handler, side by side with the unbundled
 * handler (TypeScript compiled to dist/ by `npm run build`, resolved through node_modules).
 * Both load as deployed: without --enable-source-maps (each handler imports
 * shared/source-mapped-stacks.ts, which maps a trace when one is formatted). Runs are
 * interleaved, so both sides see the same machine load. Targets: each bundle ≤ 1 MB,
 * bundled load ≤ 0.5× unbundled.
 *
 *   npm run bench -- bundles [--runs 11]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { bundleFunctions } from '../infra/bundle-functions';
import { fmt } from './support/measure';

const ROOT = join(__dirname, '..');

/**
 * Loads one module in a fresh process; returns [ms inside the process, ms of the whole
 * process, CPU ms the process spent loading it (all its threads: compiling, GC)]. CPU time
 * is what a busy machine disturbs least: wall time also counts waiting for a core.
 */
function load(kind: 'bundled' | 'unbundled', file: string): [number, number, number] {
  const start = 'const c = process.cpuUsage(); const t = performance.now();';
  const report =
    'const u = process.cpuUsage(c); process.stdout.write(JSON.stringify([performance.now() - t, (u.user + u.system) / 1000]));';
  const script =
    kind === 'bundled'
      ? `${start} await import(${JSON.stringify(pathToFileURL(file).href)}); ${report}`
      : `${start} require(${JSON.stringify(file)}); ${report}`;
  const args = [...(kind === 'bundled' ? ['--input-type=module'] : []), '-e', script];
  const started = performance.now();
  const out = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  const wall = performance.now() - started;
  if (out.status !== 0) throw new Error(`${kind} ${file} failed to load: ${out.stderr}`);
  const [ms, cpu] = JSON.parse(out.stdout) as [number, number];
  return [ms, wall, cpu];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

function argument(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(name);
  return index >= 0 ? Number(args[index + 1]) : fallback;
}

export async function run(args: string[] = []): Promise<void> {
  const runs = argument(args, '--runs', 11);
  console.log('compiling the unbundled handlers (npm run build) …');
  const build = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (build.status !== 0)
    console.log(`tsc reported errors (output still emitted):\n${build.stdout.slice(0, 800)}`);

  console.log('bundling every function (cdk synth, local esbuild) …');
  const outdir = mkdtempSync(join(tmpdir(), 'rw-bench-bundles-'));
  const context = (
    JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
  ).context;
  const { bundles } = bundleFunctions({ outdir, context });

  const rows: {
    name: string;
    kb: number;
    gzipKb: number;
    files: number;
    totalKb: number;
    bundled: number;
    unbundled: number;
    wallB: number;
    wallU: number;
    cpuB: number;
    cpuU: number;
  }[] = [];
  for (const bundle of bundles) {
    const compiled = join(ROOT, 'dist', 'functions', bundle.name, 'handler.js');
    if (!existsSync(compiled)) throw new Error(`${compiled} is missing: npm run build failed`);
    load('bundled', bundle.entry); // warm the file cache for both sides
    load('unbundled', compiled);
    const b: [number, number, number][] = [];
    const u: [number, number, number][] = [];
    for (let i = 0; i < runs; i++) {
      b.push(load('bundled', bundle.entry));
      u.push(load('unbundled', compiled));
    }
    const code = Buffer.concat(bundle.loaded.map((f) => readFileSync(join(bundle.dir, f))));
    rows.push({
      name: bundle.name,
      kb: code.length / 1000,
      gzipKb: gzipSync(code).length / 1000,
      files: bundle.loaded.length,
      totalKb: bundle.totalBytes / 1000,
      bundled: median(b.map(([ms]) => ms)),
      unbundled: median(u.map(([ms]) => ms)),
      wallB: median(b.map(([, ms]) => ms)),
      wallU: median(u.map(([, ms]) => ms)),
      cpuB: median(b.map(([, , ms]) => ms)),
      cpuU: median(u.map(([, , ms]) => ms)),
    });
  }
  rmSync(outdir, { recursive: true, force: true });

  console.log(
    `\nmedian of ${runs} fresh processes per side, interleaved; load = import/require inside the process, process = spawn to exit`,
  );
  console.log(
    'function         bundle KB  gzip KB  load bundled  load unbundled  ratio  process bundled  process unbundled  ratio  load CPU bundled  unbundled  ratio  files  all KB',
  );
  for (const r of rows) {
    console.log(
      [
        r.name.padEnd(15),
        fmt(r.kb, 0).padStart(10),
        fmt(r.gzipKb, 0).padStart(8),
        `${fmt(r.bundled, 1)} ms`.padStart(13),
        `${fmt(r.unbundled, 1)} ms`.padStart(15),
        `${fmt(r.bundled / r.unbundled)}x`.padStart(6),
        `${fmt(r.wallB, 1)} ms`.padStart(16),
        `${fmt(r.wallU, 1)} ms`.padStart(18),
        `${fmt(r.wallB / r.wallU)}x`.padStart(6),
        `${fmt(r.cpuB, 1)} ms`.padStart(17),
        `${fmt(r.cpuU, 1)} ms`.padStart(10),
        `${fmt(r.cpuB / r.cpuU)}x`.padStart(6),
        String(r.files).padStart(6),
        fmt(r.totalKb, 0).padStart(7),
      ].join(' '),
    );
  }
  const ratios = rows.map((r) => r.bundled / r.unbundled);
  const cpuRatios = rows.map((r) => r.cpuB / r.cpuU);
  const largest = Math.max(...rows.map((r) => r.kb));
  const largestTotal = Math.max(...rows.map((r) => r.totalKb));
  console.log(
    `ratio bundled/unbundled load: median ${fmt(median(ratios))}x, worst ${fmt(Math.max(...ratios))}x (target ≤ 0.5x); load CPU median ${fmt(median(cpuRatios))}x, worst ${fmt(Math.max(...cpuRatios))}x; largest bundle ${fmt(largest, 0)} KB (target ≤ 1000 KB), ${fmt(largestTotal, 0)} KB with on-demand chunks`,
  );
}
