import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '../../events';
import { runCli } from '../support/cli';

const dir = mkdtempSync(join(tmpdir(), 'rw-cli-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('registry-watcher policy check', () => {
  it('accepts the shipped policy', async () => {
    const { code, out } = await runCli(['policy', 'check', 'infra/policy.yaml']);
    expect(code).toBe(0);
    expect(out).toMatch(
      /infra\/policy\.yaml: valid \(2 repository rules, 1 exceptions, sha256:[a-f0-9]{64}\)/,
    );
  });

  it('prints every problem as file:line:column and exits 1', async () => {
    const bad = file(
      'bad.yaml',
      'apiVersion: registry-watcher/v1\nkind: Policy\ndefaults:\n  unscanned: never\n  maxScanAge: soon\n',
    );
    const { code, err } = await runCli(['policy', 'check', bad]);
    expect(code).toBe(1);
    expect(err).toContain(`${bad}:4:14: defaults.unscanned:`);
    expect(err).toContain(`${bad}:5:15: defaults.maxScanAge: expected a duration`);
    expect(err).toContain('2 problem(s)');
  });

  it('a policy under the old apiVersion: valid, with a deprecation warning naming the file and the new value', async () => {
    const old = file('old.yaml', 'kind: Policy\napiVersion: registry-watcher/v1\n');
    const { code, out, err } = await runCli(['policy', 'check', old]);
    expect(code).toBe(0);
    expect(out).toContain(`${old}: valid`);
    expect(err).toContain(`warning: ${old}:2:13: apiVersion: registry-watcher/v1 is deprecated`);
    expect(err).toContain('write apiVersion: registry-watcher.io/v1');
    const json = await runCli(['policy', 'check', old, '-o', 'json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out).warnings).toEqual([
      expect.objectContaining({ line: 2, column: 13, path: 'apiVersion' }),
    ]);
  });

  it('counts the rules narrowed to registries, and warns of a host read as a repository', async () => {
    const narrowed = file(
      'registries.yaml',
      'apiVersion: registry-watcher.io/v1\nkind: Policy\nrepositories:\n  - { match: "prod/*", registry: ghcr.io }\n  - match: "quay.io/acme/*"\n',
    );
    const { code, out, err } = await runCli(['policy', 'check', narrowed]);
    expect(code).toBe(0);
    expect(out).toContain(
      `${narrowed}: valid (2 repository rules (1 for named registries only), 0 exceptions`,
    );
    expect(err).toContain(
      `warning: ${narrowed}:5:12: repositories[1].match: match "quay.io/acme/*"`,
    );
    expect(err).toContain('write registry: quay.io and match: "acme/*"');
    const json = await runCli(['policy', 'check', narrowed, '-o', 'json']);
    expect(JSON.parse(json.out)).toMatchObject({ repositoryRules: 2, registryRules: 1 });
  });

  it('the new apiVersion: no warning', async () => {
    const renamed = file('new.yaml', 'apiVersion: registry-watcher.io/v1\nkind: Policy\n');
    const { code, err } = await runCli(['policy', 'check', renamed]);
    expect(code).toBe(0);
    expect(err).toBe('');
  });

  it('names a missing file', async () => {
    const { code, err } = await runCli(['policy', 'check', join(dir, 'missing.yaml')]);
    expect(code).toBe(1);
    expect(err).toContain('cannot read');
    expect(err).toContain('ENOENT');
  });
});

describe('registry-watcher events parse', () => {
  it('prints one evaluate request per line for an SQS event', async () => {
    const { code, out } = await runCli(['events', 'parse', fixturePath('sqs/ecr-push-in-sqs')]);
    expect(code).toBe(0);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.trigger)).toEqual(['push', 'scan']);
    expect(lines[0].image).toMatch(
      /^123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com\/prod\/api@sha256:/,
    );
  });

  it('exits 1 with the reason for an event that is not ours', async () => {
    const { code, err } = await runCli([
      'events',
      'parse',
      file('s3.json', '{"source":"aws.s3","detail-type":"x","detail":{}}'),
    ]);
    expect(code).toBe(1);
    expect(err).toContain('source "aws.s3"');
  });

  it('exits 1 when the event asks for nothing', async () => {
    const failed = JSON.stringify({
      source: 'aws.ecr',
      'detail-type': 'ECR Image Action',
      account: '123456789012',
      region: 'eu-west-1',
      detail: {
        'action-type': 'PUSH',
        result: 'FAILURE',
        'repository-name': 'a',
        'image-digest': `sha256:${'a'.repeat(64)}`,
      },
    });
    const { code, err } = await runCli(['events', 'parse', file('failed.json', failed)]);
    expect(code).toBe(1);
    expect(err).toContain('asks for no evaluation');
  });
});

describe('registry-watcher evaluate', () => {
  const image = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/api@sha256:${'1'.repeat(64)}`;

  it('prints the verdict JSON for a findings response', async () => {
    const { code, out } = await runCli([
      'evaluate',
      '--policy',
      'infra/policy.yaml',
      '--findings',
      fixturePath('ecr/describe-image-scan-findings-basic'),
      '--image',
      image,
      '--now',
      '2026-11-23T00:00:00Z',
    ]);
    expect(code).toBe(0);
    const verdict = JSON.parse(out);
    expect(verdict.verdict).toBe('FAIL');
    expect(verdict.reasons.map((r: { code: string }) => r.code)).toEqual([
      'VULNERABILITY',
      'EXCEPTION_APPLIED',
    ]);
    expect(verdict.evaluatedAt).toBe('2026-11-23T00:00:00.000Z');
  });

  it('uses --previous for grace periods', async () => {
    const policy = file(
      'grace.yaml',
      'apiVersion: registry-watcher/v1\nkind: Policy\ndefaults:\n  grace: { CRITICAL: 3d, HIGH: 3d }\n',
    );
    const previous = file(
      'previous.json',
      JSON.stringify({
        verdict: 'PASS',
        reasons: [],
        findingClock: {},
        admittedAt: '2026-11-01T00:00:00Z',
      }),
    );
    const { code, out } = await runCli([
      'evaluate',
      '--policy',
      policy,
      '--findings',
      fixturePath('ecr/describe-image-scan-findings-basic'),
      '--previous',
      previous,
      '--now',
      '2026-11-23T00:00:00Z',
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      verdict: 'WARN',
      deadline: '2026-11-26T00:00:00.000Z',
    });
  });

  it('keeps a PASS from --previous when Inspector stopped scanning (SCAN_ELIGIBILITY_EXPIRED)', async () => {
    const policy = file(
      'deny-unscanned.yaml',
      'apiVersion: registry-watcher/v1\nkind: Policy\ndefaults:\n  unscanned: deny\n  maxScanAge: 30d\n',
    );
    const clean = file(
      'clean.json',
      JSON.stringify({
        imageScanStatus: { status: 'ACTIVE' },
        imageScanFindings: { imageScanCompletedAt: '2026-11-01T00:00:00Z', enhancedFindings: [] },
      }),
    );
    const expired = file(
      'expired.json',
      JSON.stringify({
        imageScanStatus: {
          status: 'SCAN_ELIGIBILITY_EXPIRED',
          description: 'The image is no longer eligible for continuous scanning',
        },
      }),
    );
    const evaluateWith = (findings: string, now: string, previous?: string) =>
      runCli([
        'evaluate',
        '--policy',
        policy,
        '--findings',
        findings,
        ...(previous ? ['--previous', previous] : []),
        '--now',
        now,
      ]);
    const first = await evaluateWith(clean, '2026-11-02T00:00:00Z');
    expect(JSON.parse(first.out)).toMatchObject({ verdict: 'PASS' });
    const previous = file('pass.json', first.out);

    const { code, out } = await evaluateWith(expired, '2026-11-20T00:00:00Z', previous);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      verdict: 'WARN',
      scannedAt: '2026-11-01T00:00:00.000Z',
      reasons: [
        {
          code: 'SCAN_MONITORING_ENDED',
          effect: 'warn',
          message:
            'no new scan (status SCAN_ELIGIBILITY_EXPIRED: The image is no longer eligible for continuous scanning); the last judgement (scan of 2026-11-01T00:00:00.000Z) stands. Inspector stopped monitoring it; pull or push the image again to resume scanning, and check the Amazon Inspector ECR re-scan duration setting',
        },
      ],
    });
    const never = await evaluateWith(expired, '2026-11-20T00:00:00Z');
    expect(JSON.parse(never.out)).toMatchObject({
      verdict: 'FAIL',
      reasons: [{ code: 'UNSCANNED' }],
    });
  });

  it('names the field of a --previous file that is not a verdict', async () => {
    const bad = file('not-a-verdict.json', JSON.stringify({ verdict: 'GREAT', reasons: [] }));
    const { code, err } = await runCli([
      'evaluate',
      '--policy',
      'infra/policy.yaml',
      '--findings',
      fixturePath('ecr/describe-image-scan-findings-basic'),
      '--previous',
      bad,
    ]);
    expect(code).toBe(1);
    expect(err).toContain(`${bad} is not a verdict: verdict:`);
  });

  it.each([
    [['--image', 'prod/api:1.0'], 'must be pinned by digest'],
    [['--now', 'yesterday'], 'not an ISO 8601 time'],
    [['--image', 'Bad Ref@sha256:1'], 'invalid image reference'],
  ])('rejects %j', async (extra, message) => {
    const { code, err } = await runCli([
      'evaluate',
      '--policy',
      'infra/policy.yaml',
      '--findings',
      fixturePath('ecr/describe-image-scan-findings-basic'),
      ...extra,
    ]);
    expect(code).toBe(1);
    expect(err).toContain(message);
  });

  it('exits 2 on a usage error', async () => {
    const { code, err } = await runCli(['evaluate', '--policy', 'infra/policy.yaml']);
    expect(code).toBe(2);
    expect(err).toContain("required option '--findings <file>' not specified");
  });
});
