#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so the command works straight after `npm ci`.

const path = require('node:path');

// The project supports Node >= 20.17 (Lambda runs 22); the SDK's notice about its own
// future Node 22 floor is noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.TSX_TSCONFIG_PATH ??= path.join(__dirname, '..', 'tsconfig.json');
require('tsx/cjs/api').register();
const { main } = require('../cli/main.ts');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
  },
);
