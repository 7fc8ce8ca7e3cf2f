import { CliCredentialsStackSynthesizer, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { ATTESTOR_ECR_ACTIONS } from '../../infra/attestation';
import { RegistryWatcher } from '../../infra/registry-watcher';
import { RegistryWatcherStack } from '../../infra/stack';
import {
  actionsOf,
  arnOf,
  resourcesOf,
  statementsOf,
  synthFull,
  synthWatcher,
  testApp,
} from './support';

// The two signing keys (infra/keys.ts) and who may use them.
type Json = Record<string, unknown>;

// GIVEN the watcher with every optional part on (Slack, e-mail, watched repositories).
const full = synthFull();

describe('signing keys: two trust roots', () => {
  const keys = (template: Template) =>
    resourcesOf(template, 'AWS::KMS::Key').filter(
      ([, k]) => (k as { Properties: Json }).Properties.KeyUsage === 'SIGN_VERIFY',
    ) as [string, { Properties: { KeySpec: string; KeyPolicy: { Statement: Json[] } } }][];
  const keyOf = (template: Template, part: string) => {
    const found = keys(template).filter(([id]) => id.includes(part));
    if (found.length !== 1) throw new Error(`expected one ${part} key, found ${found.length}`);
    return (found[0] as (typeof found)[number])[1];
  };
  const statement = (template: Template, part: string, sid: string) =>
    keyOf(template, part).Properties.KeyPolicy.Statement.find((s) => s.Sid === sid);

  it('THEN there are two ECC_NIST_P256 keys: the allowlist function signs with one, the attestor with the other', () => {
    expect(keys(full.template)).toHaveLength(2);
    for (const [part, signer] of [
      ['AllowlistSigning', 'AllowlistRole'],
      ['AttestationSigning', 'AttestorRole'],
    ] as const) {
      expect(keyOf(full.template, part).Properties.KeySpec).toBe('ECC_NIST_P256');
      expect(statement(full.template, part, 'TheSignerSigns')).toEqual({
        Sid: 'TheSignerSigns',
        Effect: 'Allow',
        Principal: { AWS: arnOf(expect.stringContaining(signer)) },
        Action: 'kms:Sign',
        Resource: '*',
        Condition: {
          StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' },
        },
      });
      expect(statement(full.template, part, 'NobodyElseSigns')).toMatchObject({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:Sign',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': arnOf(expect.stringContaining(signer)) } },
      });
    }
    const [fn] = resourcesOf(full.template, 'AWS::Lambda::Function').filter(([id]) =>
      id.includes('Allowlist'),
    ) as [[string, { Properties: { Environment: { Variables: Json } } }]];
    expect(fn[1].Properties.Environment.Variables.ALLOWLIST_KMS_KEY_ID).toEqual(
      arnOf(expect.stringContaining('AllowlistSigning')),
    );
    full.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          ATTESTATION_KMS_KEY_ID: {
            'Fn::GetAtt': [Match.stringLikeRegexp('AttestationSigning'), 'Arn'],
          },
        }),
      },
    });
  });

  it('THEN the bootstrap execution role administers each key without Sign or CreateGrant, and the account only reads and verifies', () => {
    for (const part of ['AllowlistSigning', 'AttestationSigning']) {
      const admin = statement(full.template, part, 'AdministratorManagesButNeverSigns') as Json;
      expect(JSON.stringify(admin.Principal)).toContain('cdk-hnb659fds-cfn-exec-role');
      expect(admin.Action).toEqual(expect.arrayContaining(['kms:PutKeyPolicy']));
      for (const a of admin.Action as string[]) expect(a).not.toMatch(/\*|:Sign$|:CreateGrant$/);
      expect(statement(full.template, part, 'AccountReadsThePublicKeyAndVerifies')).toMatchObject({
        Action: ['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Verify'],
      });
      expect(statement(full.template, part, 'NoGrantCarriesSign')).toMatchObject({
        Effect: 'Deny',
        Action: 'kms:CreateGrant',
        Condition: { 'ForAnyValue:StringEquals': { 'kms:GrantOperations': ['Sign'] } },
      });
    }
  });

  it('WHEN a key administrator is named THEN the key policies name it instead', () => {
    const admin = 'arn:aws:iam::123456789012:role/key-admins';
    const { template } = synthWatcher({ keyAdministratorArn: admin });
    expect(
      statement(template, 'AllowlistSigning', 'AdministratorManagesButNeverSigns'),
    ).toMatchObject({ Principal: { AWS: admin } });
  });

  it('WHEN the stack is not deployed through the bootstrap roles and names no administrator THEN the synth says to name one', () => {
    const app = testApp();
    const build = (keyAdministratorArn?: string) =>
      new RegistryWatcherStack(app, `Cli${keyAdministratorArn ? 'Named' : ''}`, {
        synthesizer: new CliCredentialsStackSynthesizer(),
        ...(keyAdministratorArn && { keyAdministratorArn }),
      });
    expect(() => build()).toThrow(
      /keyAdministrator: this stack is not deployed through the CDK bootstrap roles/,
    );
    expect(() => build('arn:aws:iam::123456789012:role/deployer')).not.toThrow();
  });

  it('WHEN attestations are off THEN there is no attestor, and evaluate may neither sign nor push to ECR', () => {
    const { template } = synthWatcher({ watcher: { attestations: false } });
    expect(statement(template, 'AttestationSigning', 'TheSignerSigns')).toBeUndefined();
    const actions = actionsOf(template, 'EvaluateRole');
    for (const write of [
      'kms:Sign',
      'ecr:PutImage',
      'ecr:InitiateLayerUpload',
      'ecr:BatchDeleteImage',
    ]) {
      expect(actions).not.toContain(write);
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ATTESTATIONS_ENABLED: 'false' }) },
    });
    expect(
      resourcesOf(template, 'AWS::Lambda::Function').filter(([id]) => id.includes('Attestor')),
    ).toEqual([]);
  });

  it('THEN evaluate, with attestations on, holds no Sign and no ECR write: it only sends to the attestor queue', () => {
    const actions = actionsOf(full.template, 'EvaluateRole');
    for (const write of ['kms:Sign', ...ATTESTOR_ECR_ACTIONS]) expect(actions).not.toContain(write);
    expect(actions).toContain('sqs:SendMessage');
    full.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          ATTESTATIONS_ENABLED: 'true',
          ATTESTATION_QUEUE_URL: { Ref: Match.stringLikeRegexp('AttestationQueue') },
        }),
      },
    });
  });

  it('WHEN existing keys are given THEN none is created and each role signs with its own', () => {
    const arn = (n: number) =>
      `arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-55555555555${n}`;
    const { template } = synthWatcher({ allowlistKeyArn: arn(1), attestationKeyArn: arn(2) });
    expect(keys(template)).toHaveLength(0);
    expect(statementsOf(template, 'AllowlistRole')).toEqual(
      expect.arrayContaining([expect.objectContaining({ Action: 'kms:Sign', Resource: arn(1) })]),
    );
    expect(statementsOf(template, 'AttestorRole')).toEqual(
      expect.arrayContaining([expect.objectContaining({ Action: 'kms:Sign', Resource: arn(2) })]),
    );
    expect(JSON.stringify(statementsOf(template, 'AttestorRole'))).not.toContain(arn(1));
    // Evaluate gets neither key, given or created.
    expect(JSON.stringify(statementsOf(template, 'EvaluateRole'))).not.toMatch(/kms:Sign/);
  });

  it('WHEN one existing key is given for both THEN the synth fails', () => {
    const stack = new Stack(testApp(), 'Shared');
    const key = kms.Key.fromKeyArn(
      stack,
      'One',
      'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555',
    );
    expect(
      () => new RegistryWatcher(stack, 'W', { allowlistKey: key, attestationKey: key }),
    ).toThrow(/one key: the role that attests could sign allowlists/);
  });
});
