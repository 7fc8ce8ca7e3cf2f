/**
 * `npm run bench -- NAME` runs bench/NAME.ts (or bench/NAME/index.ts); no NAME runs all.
 * Each benchmark exports `run()`, prints its figures and one headline line starting `ratio`.
 * Ratios are measured side by side in one run; nothing here passes or fails on time.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// Benchmarks run on Node 20 here; the SDK's notice about its future Node 22 floor is noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

interface Benchmark {
  run(args: string[]): Promise<void>;
}

function modulePath(name: string): string | undefined {
  for (const candidate of [join(__dirname, `${name}.ts`), join(__dirname, name, 'index.ts')]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function allBenchmarks(): string[] {
  return readdirSync(__dirname, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? [e.name] : e.name.endsWith('.ts') ? [e.name.slice(0, -3)] : [],
    )
    .filter((name) => !['run', 'support'].includes(name) && modulePath(name))
    .sort();
}

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const names = name ? [name] : allBenchmarks();
  for (const bench of names) {
    const path = modulePath(bench);
    if (!path) {
      console.error(`no benchmark "${bench}"; available: ${allBenchmarks().join(', ')}`);
      process.exitCode = 2;
      return;
    }
    console.log(`# bench/${bench}`);
    const module = (await import(path)) as Benchmark;
    await module.run(args);
  }
}

void main();
