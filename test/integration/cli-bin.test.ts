import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const bin = join(__dirname, '..', '..', 'bin', 'registry-watcher.js');

it('the registry-watcher bin runs from any folder', async () => {
  const policy = join(__dirname, '..', '..', 'infra', 'policy.yaml');
  const { stdout } = await run(process.execPath, [bin, 'policy', 'check', policy], {
    cwd: tmpdir(),
  });
  expect(stdout).toContain('valid');
  const failure = await run(process.execPath, [bin, 'policy', 'check', 'nope.yaml'], {
    cwd: tmpdir(),
  }).catch((e) => e);
  expect(failure.code).toBe(1);
  expect(failure.stderr).toContain('cannot read nope.yaml');
}, 30_000);
