/**
 * The bundling step of the webhook image (cluster/Dockerfile runs it): one CommonJS file
 * for Node 22 with every dependency inside, so the runtime image needs no node_modules.
 * `tsx cluster/build.ts [outfile]`
 */
import { type BuildOptions, build } from 'esbuild';

export const DEFAULT_OUTFILE = 'dist/cluster/webhook.js';

/** The image's esbuild settings; test/architecture reads the same build's metafile. */
export function webhookBuildOptions(outfile = DEFAULT_OUTFILE): BuildOptions {
  return {
    entryPoints: [`${__dirname}/main.ts`],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  };
}

export async function bundleWebhook(outfile = DEFAULT_OUTFILE): Promise<void> {
  await build(webhookBuildOptions(outfile));
}

if (require.main === module) {
  bundleWebhook(process.argv[2]).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
