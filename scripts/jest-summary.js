#!/usr/bin/env node
// Prints the one line CI reads, "N passed, N failed", from Jest's --json results.
const { readFileSync } = require('node:fs');

const file = process.argv[2] ?? 'jest-results.json';
try {
  const results = JSON.parse(readFileSync(file, 'utf8'));
  const failed = results.numFailedTests + (results.numRuntimeErrorTestSuites ?? 0);
  console.log(`${results.numPassedTests} passed, ${failed} failed`);
} catch (error) {
  console.error(`jest-summary: no readable Jest results at ${file}: ${error.message}`);
  console.log('0 passed, 1 failed');
}
