#!/usr/bin/env node
/**
 * The npm registry this project is built against lacks some platform-specific optional
 * packages (e.g. @biomejs/cli-darwin-arm64). npm then writes no lock entry for them and
 * `npm ci` refuses the lock ("Missing: ... from lock file"). This adds the entry npm would
 * have written — version, optional, os/cpu/libc — so `npm ci` validates and, on Linux,
 * skips those packages as it always does for foreign platforms. Run it after `npm install`;
 * `--check` (part of `npm run lint`) fails when an entry is missing.
 */
const { readFileSync, writeFileSync } = require('node:fs');

const check = process.argv.includes('--check');
const file = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'package-lock.json';
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;

const OS = [
  'android',
  'darwin',
  'freebsd',
  'linux',
  'win32',
  'openharmony',
  'sunos',
  'aix',
  'netbsd',
  'openbsd',
];
const CPU = [
  'arm64',
  'x64',
  'ia32',
  'arm',
  'ppc64',
  's390x',
  'loong64',
  'riscv64',
  'mips64el',
  'wasm32',
];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => CPU.includes(p));
  const libc =
    parts.includes('musl') || parts.includes('musleabihf')
      ? 'musl'
      : parts.includes('gnu') || parts.includes('gnueabihf')
        ? 'glibc'
        : undefined;
  return { os, cpu, libc };
}

let added = 0;
for (const [path, meta] of Object.entries(packages)) {
  for (const [dep, spec] of Object.entries(meta.optionalDependencies ?? {})) {
    const hoisted = `node_modules/${dep}`;
    const nested = `${path ? `${path}/` : ''}node_modules/${dep}`;
    if (packages[hoisted] || packages[nested]) continue;
    const { os, cpu, libc } = platformOf(dep);
    if (!os || !cpu || !/^\d+\.\d+\.\d+/.test(spec)) {
      console.error(
        `complete-lockfile: cannot infer a platform entry for ${dep}@${spec} (needed by ${path})`,
      );
      process.exitCode = 1;
      continue;
    }
    packages[hoisted] = {
      version: spec,
      ...(meta.dev && { dev: true }),
      optional: true,
      os: [os],
      cpu: [cpu],
      ...(libc && { libc: [libc] }),
    };
    added++;
  }
}
if (check) {
  if (added > 0) {
    console.error(
      `complete-lockfile: ${added} platform entries missing; run: node scripts/complete-lockfile.js`,
    );
    process.exit(1);
  }
  process.exit(process.exitCode ?? 0);
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);
