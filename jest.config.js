// One config, five projects: `npm run test:unit` / `test:adapters` / `test:integration` /
// `test:infra` / `test:architecture` select one.
const transform = { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const base = {
  testEnvironment: 'node',
  transform,
  rootDir: __dirname,
  setupFiles: ['<rootDir>/test/support/env.js'],
  // node16 `import('./x.js')` (dynamic imports need the extension) resolves to x.ts here.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

module.exports = {
  // As `npm test` runs in CI. Jest's default (cores − 1) is one worker on a 2-core machine,
  // which made a plain `npx jest --selectProjects unit` take twice as long.
  maxWorkers: 2,
  projects: [
    // Pure: domain, services with in-memory ports, parsers. No client, no fetch, no server.
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    // Adapters against scripted AWS clients (aws-sdk-client-mock) or a scripted fetch.
    { ...base, displayName: 'adapters', testMatch: ['<rootDir>/test/adapters/**/*.test.ts'] },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      // Real servers and peer binaries (cosign, skopeo) on a shared 2-core machine: a `cosign
      // copy` took over Jest's 5 s default under load. A hang still fails, after 30 s. (A
      // project's `testTimeout` is ignored: jest-circus reads only the global one.)
      setupFilesAfterEnv: ['<rootDir>/test/support/integration-timeout.js'],
    },
    { ...base, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    // The layout's boundaries and the webhook bundle's contents (docs/architecture.md).
    {
      ...base,
      displayName: 'architecture',
      testMatch: ['<rootDir>/test/architecture/**/*.test.ts'],
    },
  ],
};
