#!/usr/bin/env node
// Prints the one line CI reads, "N passed, N failed", from Jest's --json results: one file,
// or several runs (today and +400 days) summed, each run's own line printed first.
const { readFileSync } = require('node:fs');

const files = process.argv.length > 2 ? process.argv.slice(2) : ['jest-results.json'];
let passed = 0;
let failed = 0;
for (const file of files) {
  try {
    const results = JSON.parse(readFileSync(file, 'utf8'));
    const runFailed = results.numFailedTests + (results.numRuntimeErrorTestSuites ?? 0);
    if (files.length > 1)
      console.log(`${file}: ${results.numPassedTests} passed, ${runFailed} failed`);
    passed += results.numPassedTests;
    failed += runFailed;
  } catch (error) {
    console.error(`jest-summary: no readable Jest results at ${file}: ${error.message}`);
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed`);
