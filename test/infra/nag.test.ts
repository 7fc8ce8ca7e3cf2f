import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, Stack, Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';
import { RegistryWatcherStack } from '../../infra/stack';
import { nagFindings, synthWatcher, testApp } from './support';

/** A policy that trusts KMS keys by ARN and by alias: the evaluate role reads their public keys. */
function policyWithKmsKeys(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rw-nag-')), 'policy.yaml');
  writeFileSync(
    file,
    [
      'apiVersion: registry-watcher/v1',
      'kind: Policy',
      'repositories:',
      '  - match: "prod/**"',
      '    signatures:',
      '      required: true',
      '      keys:',
      '        - { name: ci, kms: "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555" }',
      '        - { name: release, kms: "arn:aws:kms:eu-west-1:123456789012:alias/release-signing" }',
    ].join('\n'),
  );
  return file;
}

/** Every acknowledgement in the tree: where it sits, which finding, and why. */
function acknowledgements(app: App): { path: string; id: string; reason: string }[] {
  const found: { path: string; id: string; reason: string }[] = [];
  const visit = (node: IConstruct) => {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: node.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
    for (const child of node.node.children) visit(child);
  };
  visit(app);
  return found;
}

describe('cdk-nag AwsSolutions checks', () => {
  it.each([
    ['the defaults', {}],
    [
      'everything on: Slack, enhanced scanning, prefixes, KMS keys by ARN and alias, keyless root in S3',
      {
        watcher: {
          repositories: ['prod/api', 'team/*', 'sandbox-*'],
          scanningMode: 'enhanced' as const,
          slackWebhookSecret: 'slack/webhook',
          alarmEmail: 'ops@example.com',
          policyFile: policyWithKmsKeys(),
          trustedRoot: 's3://sigstore-roots/trusted_root.json',
        },
      },
    ],
    [
      'read-only on ECR, exact names, existing signing keys, a named key administrator',
      {
        allowlistKeyArn:
          'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555',
        attestationKeyArn:
          'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-666666666666',
        keyAdministratorArn: 'arn:aws:iam::123456789012:role/key-admins',
        accessLogsBucketName: 'central-access-logs',
        watcher: { repositories: ['prod/api'], attestations: false },
      },
    ],
  ])('GIVEN %s WHEN checked THEN no finding is left unacknowledged', (_, props) => {
    const { app } = synthWatcher(props);
    expect(nagFindings(app)).toEqual([]);
  });

  it('GIVEN an existing alarm topic WHEN checked THEN none is created and nothing is left', () => {
    const app = testApp();
    const shared = new Stack(app, 'Shared');
    const topic = new sns.Topic(shared, 'Alarms', { enforceSSL: true });
    Validations.of(topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason: 'test fixture: stands for a topic another team owns',
    });
    const stack = new RegistryWatcherStack(app, 'Watcher', { watcher: { alarmTopic: topic } });
    expect(nagFindings(app)).toEqual([]);
    expect(
      Object.keys(stack.watcher.node.findAll().filter((c) => c.node.id === 'AlarmTopic')),
    ).toHaveLength(0);
  });

  it('THEN every acknowledgement sits on a resource of the watcher, never on the stack or app, with a reason', () => {
    const { app, stack } = synthWatcher({
      watcher: {
        repositories: ['team/*'],
        scanningMode: 'enhanced',
        slackWebhookSecret: 'slack/webhook',
        policyFile: policyWithKmsKeys(),
      },
    });
    const found = acknowledgements(app);
    expect(found.length).toBeGreaterThan(10);
    for (const ack of found) {
      expect(ack.path.startsWith(`${stack.node.path}/Watcher/`)).toBe(true);
      expect(ack.reason.length).toBeGreaterThan(60);
    }
    // The wildcards acknowledged, one by one: nothing broader than the finding itself.
    const iam5 = [...new Set(found.filter((a) => a.id.includes('IAM5')).map((a) => a.id))];
    expect(iam5).toHaveLength(8);
    expect(iam5).toEqual(
      expect.arrayContaining([
        'AwsSolutions-IAM5[Resource::*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/team/*]',
        'AwsSolutions-IAM5[Resource::arn:aws:kms:eu-west-1:123456789012:key/*]',
        expect.stringMatching(
          /^AwsSolutions-IAM5\[Resource::<WatcherPublicationAllowlistFunction[0-9A-F]+\.Arn>:\*\]$/,
        ),
        expect.stringMatching(
          /^AwsSolutions-IAM5\[Resource::<WatcherRescansPlannerFunction[0-9A-F]+\.Arn>:\*\]$/,
        ),
        // changes: PutObject under the two prefixes of the failed-records bucket only.
        expect.stringMatching(
          /^AwsSolutions-IAM5\[Resource::<WatcherFailedRecords[0-9A-F]+\.Arn>\/parked\/changes\/\*\]$/,
        ),
        expect.stringMatching(
          /^AwsSolutions-IAM5\[Resource::<WatcherFailedRecords[0-9A-F]+\.Arn>\/aws\/lambda\/\*\]$/,
        ),
      ]),
    );
  });

  it('GIVEN a new wildcard grant WHEN checked THEN nag reports it (the check is live)', () => {
    const { app, stack } = synthWatcher();
    stack.watcher.functions.evaluate?.allow(['s3:GetObject'], ['arn:aws:s3:::somewhere/*']);
    expect(nagFindings(app)).toEqual([
      expect.stringMatching(
        /^AwsSolutions-IAM5\[Resource::arn:aws:s3:::somewhere\/\*\] at .*\/Evaluate\/Role\/DefaultPolicy\/Resource$/,
      ),
    ]);
  });
});
