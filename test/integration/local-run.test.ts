import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const bin = join(root, 'bin', 'registry-watcher.js');

/** The child's clock is the machine's, whatever clock this test process runs on. */
function realClockEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('FAKETIME') || name === 'LD_PRELOAD') delete env[name];
  }
  return env;
}

/** `npm start` in a fresh data folder, the clock moved by `faketime` when `ahead` is given. */
async function npmStart(ahead?: string): Promise<string> {
  const data = mkdtempSync(join(tmpdir(), 'rw-local-'));
  try {
    const args = [bin, 'local', '--data', data];
    const { stdout } = ahead
      ? await run('faketime', [ahead, process.execPath, ...args], {
          cwd: root,
          env: realClockEnv(),
        })
      : await run(process.execPath, args, { cwd: root, env: realClockEnv() });
    return stdout;
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
}

/** What the run judged: the verdict lines and the Slack messages' verdict and findings lines. */
const judged = (out: string) =>
  out
    .split('\n')
    .filter(
      (l) =>
        /^ {2}(PASS|WARN|FAIL|PENDING|ERROR) /.test(l) ||
        /│ \*(Verdict|Findings|Reasons?)\*/.test(l),
    );

it('npm start shows the same verdicts today and 400 days from now', async () => {
  const [today, nextYear] = await Promise.all([npmStart(), npmStart('+400 days')]);
  const short = (l: string) =>
    l
      .replace(/sha256:[0-9a-f]{64}/, (d) => d.slice(0, 15))
      .replace(/\s+/g, ' ')
      .trim();
  expect(
    judged(today)
      .filter((l) => /^ {2}[A-Z]/.test(l))
      .map(short),
  ).toEqual([
    'FAIL prod/api@sha256:1a91b311 new → FAIL',
    'FAIL prod/api@sha256:73235fc1 [1.4.2, latest] new → FAIL',
    'FAIL prod/api@sha256:e4a77857 [1.3.0] new → FAIL',
    'PASS team-a/web@sha256:2b1c0e7a [2.1.0] new → PASS',
    'PASS team-a/web@sha256:a624ac86 [2.0.0] new → PASS',
    'FAIL prod/api@sha256:e4a77857 [1.3.0] FAIL (facts updated, no transition)',
    'PASS team-a/web@sha256:a624ac86 [2.0.0] PASS → PASS (deleted: leaves the allowlist)',
  ]);
  expect(judged(nextYear)).toEqual(judged(today));
  expect(today).toContain('verdicts judged at 2026-11-23T09:00:00.000Z');
  // The allowlist is signed at the machine's time, so a webhook started now accepts it.
  expect(nextYear).toMatch(/ADMIT +team-a\/web:2\.1\.0 by digest: allowlisted/);
  // The allowlist names why the others are not admitted; the denial names the command.
  expect(today).toMatch(
    /DENY +prod\/api:1\.4\.2 by digest: failed its evaluation \(verdict FAIL\): run registry-watcher explain \S+\/prod\/api@sha256:73235fc1/,
  );
  expect(today).toMatch(/DENY +team-a\/web:2\.0\.0 \(deleted\): deleted from the registry/);
  // The FAIL of prod/api:1.3.0 gains a CRITICAL: announced once, as its own event, saying what is new.
  expect(
    today.match(/SNS \[registry-watcher\] WORSE FAIL \(\+1 blocking\): prod\/api:1\.3\.0/g),
  ).toHaveLength(1);
  expect(today).toContain('│ • *1 new blocking finding*: `CVE-2024-45491`');
  expect(today).toMatch(/published \(1 VerdictEscalated\)/);
}, 60_000);
