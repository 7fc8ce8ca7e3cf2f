import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';

const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const data = mkdtempSync(join(tmpdir(), 'rw-questions-'));
const strict = join(data, 'strict.yaml');

// What the README shows: npm start, then the three questions on the table it leaves.
beforeAll(async () => {
  const run = await runCli(['local', '--data', data]);
  expect(run.code).toBe(0);
  writeFileSync(
    strict,
    'apiVersion: registry-watcher/v1\nkind: Policy\ndefaults:\n  signatures: { required: true }\n',
  );
}, 60_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

const local = ['--local', '--data', data];

it('explain: the FAIL of prod/api:1.4.2 and its exception owner', async () => {
  const { code, out } = await runCli(['explain', `${ECR}/prod/api:1.4.2`, ...local, '-o', 'json']);
  expect(code).toBe(0);
  const e = JSON.parse(out);
  expect(e).toMatchObject({ standing: 'failed', verdict: 'FAIL', tags: ['1.4.2', 'latest'] });
  expect(e.exceptions[0]).toMatchObject({ id: 'CVE-2023-44487', owner: 'security@acme.example' });
});

it('search: where CVE-2024-37371 is, with the fix Inspector gives', async () => {
  const { code, out } = await runCli(['search', 'CVE-2024-37371', ...local, '-o', 'json']);
  expect(code).toBe(0);
  const r = JSON.parse(out);
  expect(r).toMatchObject({ digests: 3, repositories: 1 });
  expect(r.hits.map((h: { fixedIn?: string }) => h.fixedIn ?? null)).toContain(
    '0:1.20.1-2+deb12u2',
  );
  const none = await runCli(['search', '--package', 'no-such-package', ...local]);
  expect(none.out).toContain('package no-such-package: 0 current digest(s) in 0 repositories');
  expect((await runCli(['search', ...local])).code).toBe(2);
  // The whole table (before the fleet index has every digest) answers the same.
  const whole = await runCli(['search', 'CVE-2024-37371', ...local, '--whole-table', '-o', 'json']);
  expect(JSON.parse(whole.out)).toEqual(r);
});

it('what-if: requiring signatures fails the one PASS, and writes nothing', async () => {
  const args = ['what-if', '--policy', strict, ...local, '--now', '2026-11-23T09:00:00Z'];
  const first = await runCli([...args, '-o', 'json']);
  expect(first.code).toBe(0);
  const report = JSON.parse(first.out);
  expect(report).toMatchObject({
    digests: 4,
    replayed: 4,
    changed: 1,
    byTransition: [{ transition: 'PASS → FAIL', count: 1 }],
    byReason: [{ reason: 'SIGNATURE_UNVERIFIED', count: 1 }],
  });
  expect(report.changes[0].image).toContain('team-a/web@sha256:2b1c0e7a');
  // Nothing was written: the verdict it would change is still PASS.
  const after = await runCli(['explain', report.changes[0].image, ...local, '-o', 'json']);
  expect(JSON.parse(after.out).verdict).toBe('PASS');
  expect((await runCli(args)).out).toMatch(/By transition\n +1 {2}PASS → FAIL/);
});
