import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { ENTRY_FILE } from './function-bundling';
import { RegistryWatcherStack } from './stack';

/** One function's deployment package, as `cdk synth` stages it. */
export interface FunctionBundle {
  name: string;
  /** The asset folder (what Lambda unpacks into /var/task). */
  dir: string;
  /** The bundled handler module. */
  entry: string;
  /**
   * The JavaScript files a cold start loads: the handler module and the chunks it imports
   * statically (not those behind `import()`), relative to dir, handler first.
   */
  loaded: string[];
  /** Size of those files in bytes. */
  bytes: number;
  /** Size of every JavaScript file in the package, lazily loaded chunks included. */
  totalBytes: number;
  /** Every file of the package, relative to dir. */
  files: string[];
}

/** Static `import … from "./x"`, `import "./x"` and `export … from "./x"`; not `import("./x")`. */
const STATIC_IMPORT =
  /(?:^|[;}\n])\s*(?:import|export)\s*(?:[\w$*{}\s,]*from\s*)?["'](\.\.?\/[^"']+)["']/g;

/** The files a module loads before it runs: itself and its static relative imports, transitively. */
export function staticallyLoaded(dir: string, entry: string): string[] {
  const seen = [entry];
  for (let i = 0; i < seen.length; i++) {
    const file = seen[i] as string;
    const code = readFileSync(join(dir, file), 'utf8');
    for (const [, specifier] of code.matchAll(STATIC_IMPORT)) {
      const target = relative(dir, join(dir, dirname(file), specifier as string));
      if (!seen.includes(target)) seen.push(target);
    }
  }
  return seen;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

export interface BundleOptions {
  /** Where the cloud assembly goes. */
  outdir: string;
  /** Context as cdk.json gives it (feature flags). */
  context?: Record<string, unknown>;
  /** Run CDK's built-in CloudFormation validation too (slower). @default false */
  validate?: boolean;
}

/**
 * Synthesizes the stack with real bundling (local esbuild) and every function enabled,
 * and returns each function's bundle: what the bundles test checks and bench/bundles
 * measures.
 */
export function bundleFunctions(options: BundleOptions): {
  bundles: FunctionBundle[];
  app: App;
  stack: RegistryWatcherStack;
} {
  const app = new App({
    outdir: options.outdir,
    context: options.context ?? {},
    builtinCloudFormationValidation: options.validate ?? false,
  });
  const stack = new RegistryWatcherStack(app, 'RegistryWatcher', {
    // A Slack secret so that notify exists too.
    watcher: { slackWebhookSecret: 'registry-watcher/slack-webhook' },
  });
  app.synth();
  const bundles = Object.entries(stack.watcher.functions).map(([name, fn]) => {
    const asset = fn.function.node.findChild('Code') as Asset;
    const dir = join(options.outdir, asset.assetPath);
    const files = listFiles(dir);
    const loaded = staticallyLoaded(dir, ENTRY_FILE);
    const size = (list: string[]) => list.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    return {
      name,
      dir,
      entry: join(dir, ENTRY_FILE),
      loaded,
      bytes: size(loaded),
      totalBytes: size(files.filter((f) => f.endsWith('.mjs'))),
      files,
    };
  });
  return { bundles, app, stack };
}
