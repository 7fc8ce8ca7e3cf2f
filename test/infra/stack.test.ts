import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RegistryWatcherStack } from '../../infra/stack';
import { statementsOf, synthFull, testApp } from './support';

// The stack's outputs (infra/stack.ts) and the construct's allowlist grant (infra/registry-watcher.ts).
// GIVEN the watcher with every optional part on (Slack, e-mail, watched repositories).
const full = synthFull();

describe('stack outputs and grants', () => {
  it('WHEN a cluster role is granted the allowlist THEN it may read exactly the three objects', () => {
    const stack = new RegistryWatcherStack(testApp(), 'Reader');
    const reader = new iam.Role(stack, 'ClusterReader', {
      assumedBy: new iam.AccountRootPrincipal(),
    });
    stack.watcher.grantReadAllowlist(reader);
    const statements = statementsOf(Template.fromStack(stack), 'ClusterReader');
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toBe('s3:GetObject');
    expect(JSON.stringify(statements[0]?.Resource)).toMatch(
      /"\/allowlist\.json".*"\/allowlist\.json\.sigstore\.json".*"\/allowlist\.pub"/,
    );
  });

  it('THEN the stack outputs what consumers and operators need', () => {
    const outputs = full.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'AllowlistUrl',
        'AllowlistPublicKeyUrl',
        'AllowlistKeyArn',
        'AllowlistPublicKeyCommand',
        'AttestationKeyArn',
        'AttestationPublicKeyCommand',
        'ReplayRoleArn',
        'FailedRecordsBucketName',
        'RebuildQueueUrl',
        'VerdictTopicArn',
        'TableName',
      ]),
    );
    expect(JSON.stringify(outputs.AllowlistPublicKeyCommand?.Value)).toMatch(
      /aws kms get-public-key --region .*--key-id ",\{"Fn::GetAtt":\["WatcherAllowlistSigningKey[0-9A-F]+","Arn"\]\}," --query PublicKey --output text \| base64 -d \| openssl pkey -pubin -inform DER -out allowlist.pub"/,
    );
    expect(JSON.stringify(outputs.AllowlistUrl?.Value)).toMatch(
      /"s3:\/\/",\{"Ref":"WatcherAllowlist[0-9A-F]+"\},"\/allowlist.json"/,
    );
    expect(JSON.stringify(outputs.AllowlistPublicKeyUrl?.Value)).toContain('/allowlist.pub');
    expect(outputs.PolicyHash?.Value).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
