import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { readAppSettings } from '../../infra/app-config';
import {
  DEFAULT_POLICY_FILE,
  durationSetting,
  type RegistryWatcherProps,
  resolveProps,
} from '../../infra/props';
import { RegistryWatcherStack } from '../../infra/stack';
import { ConfigError, PolicyError } from '../../shared/domain/errors';
import { testApp } from './support';

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

function badPolicy(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rw-policy-')), 'policy.yaml');
  writeFileSync(
    file,
    [
      'apiVersion: registry-watcher/v1',
      'kind: Policy',
      'defaults:',
      '  block:',
      '    severity: HUGE',
      '  unscanned: maybe',
      '',
    ].join('\n'),
  );
  return file;
}

function problemsOf(props: RegistryWatcherProps): string {
  try {
    resolveProps(props);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the props to be rejected');
}

describe('props: defaults', () => {
  it('GIVEN no props THEN the documented defaults apply', () => {
    expect(resolveProps()).toEqual({
      repositories: [],
      scanningMode: 'basic',
      policyFile: DEFAULT_POLICY_FILE,
      rescanSchedule: 'cron(0 2 * * ? *)',
      rescanTimeZone: 'UTC',
      allowlistValidity: Duration.hours(24),
      allowlistNotAdmitted: 0,
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
      evaluateMaxConcurrency: 2,
      knownExploitedRefresh: Duration.hours(1),
      logRetention: RetentionDays.THREE_MONTHS,
      attestations: true,
    });
  });

  it('GIVEN names and prefixes THEN each is recognised', () => {
    expect(
      resolveProps({ repositories: ['prod/api', 'team/*', 'sandbox-*'] }).repositories,
    ).toEqual([{ name: 'prod/api' }, { prefix: 'team/' }, { prefix: 'sandbox-' }]);
  });
});

describe('props: bad values fail early with the prop and what to do', () => {
  it.each<[string, RegistryWatcherProps, string]>([
    [
      'an upper-case repository',
      { repositories: ['Prod/API'] },
      'repositories.0: "Prod/API" is not an ECR repository name',
    ],
    ['a lone star', { repositories: ['*'] }, 'leave repositories empty to watch every repository'],
    ['a star inside', { repositories: ['team/*/web'] }, 'is not an ECR repository name'],
    [
      'too many repositories',
      { repositories: Array.from({ length: 51 }, (_, i) => `r${i}`) },
      'repositories: at most 50 entries',
    ],
    ['an unknown scanning mode', { scanningMode: 'full' as 'basic' }, 'scanningMode:'],
    ['a 5-field cron', { rescanSchedule: 'cron(0 2 * * *)' }, 'a cron expression has 6 fields'],
    [
      'both day fields',
      { rescanSchedule: 'cron(0 2 * * MON *)' },
      'exactly one of day-of-month and day-of-week must be "?"',
    ],
    ['an at() schedule', { rescanSchedule: 'at(2026-01-01T00:00:00)' }, 'expected cron('],
    [
      'a made-up time zone',
      { rescanTimeZone: 'Mars/Olympus' },
      'rescanTimeZone: expected an IANA time zone',
    ],
    [
      'an ARN of another service',
      { slackWebhookSecret: 'arn:aws:s3:::bucket' },
      'slackWebhookSecret: expected a Secrets Manager secret ARN or name',
    ],
    ['not an e-mail', { alarmEmail: 'ops' }, 'alarmEmail: expected an e-mail address'],
    [
      'a 30-minute validity',
      { allowlistValidity: Duration.minutes(30) },
      'allowlistValidity: must be between 1 hour and 7 days',
    ],
    [
      'an 8-day validity',
      { allowlistValidity: Duration.days(8) },
      'must be between 1 hour and 7 days',
    ],
    ['seconds in the validity', { allowlistValidity: Duration.seconds(3601) }, 'use whole minutes'],
    [
      'concurrency 1',
      { evaluateMaxConcurrency: 1 },
      'evaluateMaxConcurrency: the SQS event source needs at least 2',
    ],
    [
      'a missing trusted root',
      { trustedRoot: 'nowhere/trusted_root.json' },
      'trustedRoot: expected s3://bucket/key or an existing trusted_root.json file',
    ],
  ])('GIVEN %s THEN the message names it', (_, props, message) => {
    expect(problemsOf(props)).toContain(message);
  });

  it('GIVEN several bad props THEN every problem is reported at once, one per line', () => {
    const message = problemsOf({ repositories: ['A'], alarmEmail: 'x', evaluateMaxConcurrency: 0 });
    expect(message.split('\n')).toEqual([
      'invalid RegistryWatcher props:',
      expect.stringContaining('  - alarmEmail:'),
      expect.stringContaining('  - evaluateMaxConcurrency:'),
      expect.stringContaining('  - repositories.0:'),
    ]);
  });

  it('GIVEN bad props WHEN the stack is built THEN synth fails before any resource exists', () => {
    const app = testApp();
    expect(
      () => new RegistryWatcherStack(app, 'W', { watcher: { rescanTimeZone: 'Nowhere' } }),
    ).toThrow(/rescanTimeZone: expected an IANA time zone/);
  });
});

describe('the policy is parsed at synth', () => {
  it('GIVEN a bad policy WHEN the stack is built THEN it fails with file:line:column per problem', () => {
    const file = badPolicy();
    // Outside the working folder the path is shown in full.
    const where = file;
    let error: unknown;
    try {
      new RegistryWatcherStack(testApp(), 'W', { watcher: { policyFile: file } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).message.split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${where}:5:15: defaults\\.block\\.severity: `)),
      expect.stringMatching(new RegExp(`^${where}:6:14: defaults\\.unscanned: `)),
    ]);
  });

  it('GIVEN a policy under the old apiVersion THEN synth warns (file, line, the new value) and goes on', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rw-policy-')), 'policy.yaml');
    writeFileSync(file, 'apiVersion: registry-watcher/v1\nkind: Policy\n');
    const stack = new RegistryWatcherStack(testApp(), 'W', { watcher: { policyFile: file } });
    Annotations.fromStack(stack).hasWarning(
      '/W/Watcher',
      Match.stringLikeRegexp(
        `^${file}:1:13: apiVersion: registry-watcher/v1 is deprecated: write apiVersion: registry-watcher\\.io/v1`,
      ),
    );
    const current = new RegistryWatcherStack(testApp(), 'W');
    expect(
      Annotations.fromStack(current).findWarning('*', Match.stringLikeRegexp('deprecated')),
    ).toEqual([]);
  });

  it('GIVEN the deployed policy THEN its hash is an output', () => {
    const stack = new RegistryWatcherStack(testApp(), 'W');
    expect(stack.watcher.policy.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(readFileSync(DEFAULT_POLICY_FILE, 'utf8')).toContain('kind: Policy');
  });
});

describe('the CDK app (what `cdk synth` runs)', () => {
  const synth = (context: Record<string, unknown>) =>
    run(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify(context),
        CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'rw-cdk-out-')),
      },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );

  it('GIVEN a bad policy file WHEN synthesized THEN it exits 1 naming file:line:column, no stack trace', async () => {
    const file = badPolicy();
    const { code, stderr } = await synth({ 'registry-watcher': { policyFile: file } });
    expect(code).toBe(1);
    expect(stderr).toContain('registry-watcher: INVALID_POLICY');
    expect(stderr).toMatch(/policy\.yaml:5:15: defaults\.block\.severity: /);
    expect(stderr).not.toMatch(/^\s+at /m);
  }, 30_000);

  it('GIVEN a bad -c setting WHEN synthesized THEN it exits 1 naming the setting', async () => {
    const { code, stderr } = await synth({
      'registry-watcher:evaluateMaxConcurrency': '1',
    });
    expect(code).toBe(1);
    expect(stderr).toContain('evaluateMaxConcurrency: the SQS event source needs at least 2');
  }, 30_000);
});

describe('app settings from the context', () => {
  const settings = (context: Record<string, unknown>) => readAppSettings(new App({ context }).node);

  it('GIVEN cdk.json settings and -c overrides THEN strings are parsed and overrides win', () => {
    expect(
      settings({
        'registry-watcher': { repositories: ['prod/api'], alarmEmail: 'a@example.com' },
        'registry-watcher:repositories': 'prod/api, team/*',
        'registry-watcher:deletionProtection': 'false',
        'registry-watcher:evaluateMaxConcurrency': '5',
        'registry-watcher:allowlistValidity': '12h',
      }),
    ).toEqual({
      stackName: 'RegistryWatcher',
      repositories: ['prod/api', 'team/*'],
      alarmEmail: 'a@example.com',
      deletionProtection: false,
      evaluateMaxConcurrency: 5,
      allowlistValidity: Duration.millis(12 * 3_600_000),
    });
  });

  it('GIVEN an unknown key or a bad value THEN each is named', () => {
    expect(() =>
      settings({
        'registry-watcher': { allowlistValidity: 'a day', account: '42' },
        'registry-watcher:repos': 'x',
      }),
    ).toThrow(
      [
        'invalid deployment settings:',
        '  - registry-watcher.account: a 12-digit AWS account id',
        '  - registry-watcher.allowlistValidity: a duration such as 24h or 90m',
        '  - registry-watcher.(settings): Unrecognized key: "repos"',
      ].join('\n'),
    );
  });

  it('GIVEN key settings THEN ARNs of the right kind are taken and others named', () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';
    expect(
      settings({
        'registry-watcher:allowlistKeyArn': key,
        'registry-watcher:keyAdministratorArn': 'arn:aws:iam::123456789012:role/key-admins',
      }),
    ).toMatchObject({
      allowlistKeyArn: key,
      keyAdministratorArn: 'arn:aws:iam::123456789012:role/key-admins',
    });
    expect(() =>
      settings({
        'registry-watcher:attestationKeyArn': 'alias/attestations',
        'registry-watcher:keyAdministratorArn': 'arn:aws:sts::123456789012:assumed-role/admin/me',
        'registry-watcher:signingKeyArn': key,
      }),
    ).toThrow(
      [
        'invalid deployment settings:',
        '  - registry-watcher.attestationKeyArn: a KMS key ARN',
        '  - registry-watcher.keyAdministratorArn: an IAM role or user ARN',
        '  - registry-watcher.(settings): Unrecognized key: "signingKeyArn"',
      ].join('\n'),
    );
  });

  it.each([
    [durationSetting(Duration.seconds(30)), '30s'],
    [durationSetting(Duration.minutes(90)), '90m'],
    [durationSetting(Duration.hours(24)), '24h'],
    [durationSetting(Duration.days(2)), '48h'],
  ])('durationSetting gives %s', (actual, expected) => {
    expect(actual).toBe(expected);
  });
});
