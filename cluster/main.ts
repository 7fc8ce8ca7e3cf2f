/**
 * Entry point of the webhook image: only the `cluster` commands, so the bundle carries the
 * webhook and nothing of the Lambdas. `node webhook.js cluster webhook --config …`.
 */
import { isMainThread } from 'node:worker_threads';
import { Command } from 'commander';
import { processIo, runProgram } from '../shared/command-line/io';
import { registerCluster } from './command';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('registry-watcher').exitOverride();
  registerCluster(program, processIo);
  return runProgram(program, argv, processIo);
}

// A worker thread runs this same bundle to verify allowlists (webhook/verify-worker.ts).
if (require.main === module && isMainThread) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.stack : String(error));
      process.exitCode = 2;
    },
  );
}
