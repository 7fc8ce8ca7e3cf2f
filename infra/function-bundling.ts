import { copyFileSync, cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BundlingOptions, DockerImage, ILocalBundling } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { BuildOptions } from 'esbuild';

/** The handler module of every bundle: Lambda's handler setting is `index.handler`. */
export const ENTRY_FILE = 'index.mjs';

/** Code reached only through `import()` lives here, loaded when first imported. */
export const CHUNK_FOLDER = 'chunks';

/**
 * ESM bundles have no `require`; CommonJS dependencies inside them call it (esbuild's
 * `__require` shim), so the banner of every file provides one.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __rwCreateRequire } from 'node:module'; const require = __rwCreateRequire(import.meta.url);";

/**
 * How every function is bundled: ESM for node22, minified, source maps without sources, the
 * AWS SDK v3 inside (nothing external but Node built-ins), module entry points first so
 * the SDK's ES builds tree-shake. Code splitting puts what is reached only through
 * `import()` — the SDK's credential providers other than the environment's (Lambda always
 * has credentials in the environment), the S3 client of an `s3://` trusted root — into
 * chunks that a cold start never reads or compiles.
 */
export function esbuildOptions(entry: string, outdir: string) {
  // `satisfies`, not a return type: the package's declarations then need no esbuild types.
  return {
    entryPoints: { index: entry },
    outdir,
    entryNames: '[name]',
    chunkNames: `${CHUNK_FOLDER}/[name]-[hash]`,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    banner: { js: ESM_REQUIRE_BANNER },
    // The browser user-agent parser the SDK reaches through import() (34 KB per function).
    alias: { bowser: join(__dirname, 'browser-user-agent.mjs') },
    logLevel: 'warning',
  } as const satisfies BuildOptions;
}

/**
 * What a function's code comes from: its `handler.ts` in a checkout (bundled by esbuild at
 * synth), or the folder the package ships, bundled by the same options when it was packed
 * (scripts/build-package.ts, docs/deploy.md "As a package").
 */
export type FunctionSource = { handler: string } | { prebundled: string };

/** A file beside the handler: copied from an absolute path, or written from text rendered at synth. */
export type BundledFile = string | { readonly text: string };

/**
 * Local bundling of one function for `Code.fromAsset` (NodejsFunction has no code
 * splitting): esbuild, or a copy of the prebundled folder; then the files copied beside the
 * handler. Its fields are what the asset cache is keyed on: the source and the files (a
 * rendered file's text itself, so a changed policy is a new asset).
 */
export class FunctionBundling implements BundlingOptions {
  /** Never pulled: local bundling either succeeds or fails the synth (there is no Docker here). */
  readonly image: DockerImage = lambda.Runtime.NODEJS_22_X.bundlingImage;
  readonly local: ILocalBundling;

  constructor(
    readonly source: FunctionSource,
    /** Beside the handler: file name → absolute source path, or the text to write. */
    readonly files: Record<string, BundledFile> = {},
  ) {
    this.local = {
      tryBundle: (outputDir) => {
        if ('prebundled' in source) {
          cpSync(source.prebundled, outputDir, { recursive: true });
        } else {
          // Loaded here, not at the top: the package runs without esbuild (it is a dev dependency).
          const { buildSync } = require('esbuild') as typeof import('esbuild');
          buildSync(esbuildOptions(source.handler, outputDir));
        }
        for (const [name, file] of Object.entries(files)) {
          if (typeof file === 'string') copyFileSync(file, join(outputDir, name));
          else writeFileSync(join(outputDir, name), file.text);
        }
        return true;
      },
    };
  }
}
