import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { RegistryWatcherStack } from './stack';

/** One function's deployment package, as `cdk synth` stages it. */
export interface FunctionBundle {
  name: string;
  /** The asset folder (what Lambda unpacks into /var/task). */
  dir: string;
  /** The bundled handler module. */
  entry: string;
  /** Size of the handler module in bytes. */
  bytes: number;
  files: string[];
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
    const entry = join(dir, 'index.mjs');
    return { name, dir, entry, bytes: statSync(entry).size, files: readdirSync(dir).sort() };
  });
  return { bundles, app, stack };
}
