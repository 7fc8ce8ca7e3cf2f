import type { Template } from 'aws-cdk-lib/assertions';
import { ATTESTOR_ECR_ACTIONS } from '../../infra/attestation';
import { MARKER_PREFIX } from '../../shared/adapters/aws/delivery-markers';
import { RESCAN_CHECKPOINT_KEY } from '../../shared/adapters/aws/rescan-checkpoints';
import { allowlistKeys } from '../../shared/adapters/aws/s3-allowlist-store';
import { imagePartitionKey, VERDICT_TABLE } from '../../shared/adapters/aws/verdict-table';
import {
  ACCOUNT,
  ACCOUNT_ADMIN,
  type Context,
  decide,
  Permissions,
  type Principal,
  REGION,
  type Resource,
  who,
} from './permissions';
import { synthWatcher } from './support';

type Json = Record<string, unknown>;
const WATCHED = ['prod/api', 'team/*'];
const SLACK = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack/webhook-AbCdEf';
const CFN_EXEC = `role cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-${REGION}`;
const ADMIN = ACCOUNT_ADMIN.name;
const service = (host: string): Principal => ({ name: host, arn: `service:${host}`, identity: [] });
const SERVICES = ['sns', 'events', 'scheduler', 'lambda', 'cloudwatch', 'logging.s3'].map((s) =>
  service(`${s}.amazonaws.com`),
);

/** Every way of asking KMS to sign: both algorithms a P-256 key knows of, digest or raw. */
const SIGN_REQUESTS: Context[] = ['ECDSA_SHA_256', 'ECDSA_SHA_384'].flatMap((alg) =>
  ['DIGEST', 'RAW'].map((type) => ({ 'kms:SigningAlgorithm': alg, 'kms:MessageType': type })),
);
const VERDICT_WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];
const OBJECT_WRITES = ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion'];
const repository = (name: string): Resource => ({
  arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`,
  kind: 'other',
});

/** The five questions of issue 13, answered from a template. */
function answers(
  template: Json,
  keyPart = { allowlist: 'AllowlistSigning', attestation: 'AttestationSigning' },
) {
  const p = new Permissions(template);
  const stack = p.roles();
  const everyone = [...stack, ...p.namedOutsiders(), ACCOUNT_ADMIN, ...SERVICES];
  const key = (part: string) => {
    const k = p.resource('AWS::KMS::Key', part);
    return {
      sign: who(everyone, ['kms:Sign'], k, SIGN_REQUESTS),
      grantSign: who(everyone, ['kms:CreateGrant'], k, [
        { 'kms:GrantOperations': ['Sign'] },
        { 'kms:GrantOperations': ['GetPublicKey', 'Sign'] },
      ]),
      rewritePolicy: who(everyone, ['kms:PutKeyPolicy'], k),
    };
  };
  const bucket = p.resource('AWS::S3::Bucket', 'WatcherAllowlistB');
  const topic = p.resource('AWS::SNS::Topic', 'VerdictEvents');
  const table = p.resource('AWS::DynamoDB::Table', 'Verdicts');
  const items: Record<string, string> = {
    'image items (IMG#…)': imagePartitionKey({
      registry: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`,
      repository: 'prod/api',
      digest: `sha256:${'a'.repeat(64)}`,
    }),
    'allowlist sequence (ALLOWLIST)': VERDICT_TABLE.counterPartitionKey,
    'delivery markers (EVENT#…)': `${MARKER_PREFIX}transition-1`,
    'rescan checkpoint (RESCAN)': RESCAN_CHECKPOINT_KEY.pk,
    'any other key': 'SOMETHING-ELSE',
  };
  return {
    allowlistKey: key(keyPart.allowlist),
    attestationKey: key(keyPart.attestation),
    allowlistObjects: Object.fromEntries(
      Object.values(allowlistKeys()).map((k) => [
        k,
        who(everyone, OBJECT_WRITES, { ...bucket, arn: `${bucket.arn}/${k}` }),
      ]),
    ),
    topicPublishers: who(everyone, ['sns:Publish'], topic),
    // SNS delivering for our verdict topic, besides SNS for any other source (in SERVICES).
    notifySenders: notifySenders(p, everyone, topic.arn),
    dlqSenders: dlqSenders(template, p, everyone, topic.arn),
    replayAssumers: who(everyone, ['sts:AssumeRole'], p.resource('AWS::IAM::Role', 'ReplayRole')),
    attestationRequesters: attestationRequesters(p, everyone),
    pushers: Object.fromEntries(
      ['prod/api', 'team/web', 'team/x/y', 'other/app'].map((name) => [
        name,
        who(stack, [...ATTESTOR_ECR_ACTIONS, 'ecr:PutImage'], repository(name)),
      ]),
    ),
    verdictWriters: Object.fromEntries(
      Object.entries(items).map(([what, pk]) => [
        what,
        who(stack, VERDICT_WRITES, table, [{ 'dynamodb:LeadingKeys': [pk] }]),
      ]),
    ),
  };
}

/** Who can ask the attestor to attest (a message names an image; it signs the table's verdict). */
function attestationRequesters(p: Permissions, everyone: Principal[]) {
  let queue: Resource;
  try {
    queue = p.resource('AWS::SQS::Queue', 'AttestationQueue');
  } catch {
    return undefined;
  }
  return who(everyone, ['sqs:SendMessage'], queue);
}

/** Who can put a message on the notify queue (what lands there is posted to Slack). */
function notifySenders(p: Permissions, everyone: Principal[], topicArn: string) {
  let queue: Resource;
  try {
    queue = p.resource('AWS::SQS::Queue', 'NotifyQueue');
  } catch {
    return undefined;
  }
  const ours = { ...service('sns.amazonaws.com'), name: 'sns.amazonaws.com for VerdictEvents' };
  const send = (principals: Principal[], context: Context = {}) =>
    who(principals, ['sqs:SendMessage'], queue, [context]);
  return [...send(everyone), ...send([ours], { 'aws:SourceArn': topicArn })].sort();
}

/**
 * Who can put a message on each dead-letter queue (what is there gets redriven into its
 * source): everyone the suite asks, plus SNS for our topic and EventBridge for our rules.
 */
function dlqSenders(template: Json, p: Permissions, everyone: Principal[], topicArn: string) {
  const resources = Object.entries(template.Resources as Record<string, { Type: string }>);
  const rules = resources
    .filter(([, r]) => r.Type === 'AWS::Events::Rule')
    .map(([id]) => `arn:aws:events:${REGION}:${ACCOUNT}:rule/${id}`);
  const ours: [Principal, Context[]][] = [
    [
      { ...service('sns.amazonaws.com'), name: 'sns.amazonaws.com for VerdictEvents' },
      [{ 'aws:SourceArn': topicArn }],
    ],
    [
      { ...service('events.amazonaws.com'), name: 'events.amazonaws.com for our rules' },
      rules.map((arn) => ({ 'aws:SourceArn': arn })),
    ],
  ];
  return Object.fromEntries(
    resources
      .filter(([id, r]) => r.Type === 'AWS::SQS::Queue' && /Dlq|Failures/.test(id))
      .map(([id]) => {
        const queue = p.resource('AWS::SQS::Queue', id);
        const senders = [
          ...who(everyone, ['sqs:SendMessage'], queue),
          ...ours.flatMap(([principal, contexts]) =>
            who([principal], ['sqs:SendMessage'], queue, contexts),
          ),
        ];
        return [id.replace(/^Watcher/, '').replace(/[0-9A-F]{8}$/, ''), senders.sort()];
      }),
  );
}

// GIVEN the watcher with attestations, Slack and watched repositories.
const full = synthWatcher({ watcher: { repositories: WATCHED, slackWebhookSecret: SLACK } });
// GIVEN the same, read-only on ECR.
const readOnly = synthWatcher({ watcher: { repositories: WATCHED, attestations: false } });
const json = (t: Template) => t.toJSON() as Json;

describe('effective permissions (evaluated over the synthesized template)', () => {
  const full_ = answers(json(full.template));

  it('THEN only the allowlist function can sign with the allowlist key; nobody can grant Sign; only the key administrator can rewrite its policy', () => {
    expect(full_.allowlistKey).toEqual({
      sign: ['allowlist'],
      grantSign: [],
      rewritePolicy: [CFN_EXEC],
    });
  });

  it('THEN the key administrator may do every key-level action CloudFormation calls on a key, so updates and deletion keep working', () => {
    // handlers.{create,read,update,delete}.permissions of aws-cloudformation-resource-providers-kms
    // key/aws-kms-key.json, without kms:CreateKey (an account action, before any key policy).
    const handlers = [
      'kms:EnableKeyRotation',
      'kms:DisableKey',
      'kms:TagResource',
      'kms:DescribeKey',
      'kms:GetKeyPolicy',
      'kms:GetKeyRotationStatus',
      'kms:ListResourceTags',
      'kms:DisableKeyRotation',
      'kms:EnableKey',
      'kms:PutKeyPolicy',
      'kms:UntagResource',
      'kms:UpdateKeyDescription',
      'kms:ScheduleKeyDeletion',
    ];
    const p = new Permissions(json(full.template));
    const [admin] = p.namedOutsiders();
    for (const part of ['AllowlistSigning', 'AttestationSigning']) {
      const key = p.resource('AWS::KMS::Key', part);
      expect(handlers.filter((a) => decide(admin as Principal, a, key) !== 'allow')).toEqual([]);
    }
  });

  it('THEN only the attestor can sign with the attestation key (evaluate, which parses untrusted registry content, cannot), and with attestations off nobody can', () => {
    expect(full_.attestationKey).toEqual({
      sign: ['attestor'],
      grantSign: [],
      rewritePolicy: [CFN_EXEC],
    });
    expect(answers(json(readOnly.template)).attestationKey.sign).toEqual([]);
  });

  it('THEN of the stack only evaluate asks the attestor (besides identities whose IAM allows any SQS send); read-only, there is no attestor to ask', () => {
    expect(full_.attestationRequesters).toEqual([ADMIN, CFN_EXEC, 'evaluate'].sort());
    expect(answers(json(readOnly.template)).attestationRequesters).toBeUndefined();
  });

  it('THEN only the allowlist function can write (or delete) the three allowlist objects, whatever IAM says', () => {
    expect(full_.allowlistObjects).toEqual({
      'allowlist.json': ['allowlist'],
      'allowlist.json.sigstore.json': ['allowlist'],
      'allowlist.pub': ['allowlist'],
    });
  });

  it('THEN only changes, the rescan planner and the replay role can publish to the verdict topic, whatever IAM says; the replay role is for identities the account lets assume it', () => {
    expect(full_.topicPublishers).toEqual(['changes', 'replay', 'rescan-planner']);
    expect(full_.replayAssumers).toEqual([ADMIN, CFN_EXEC].sort());
  });

  it('THEN only SNS delivering for the verdict topic and the replay role (DLQ redrive) can send to the notify queue, whatever IAM says', () => {
    expect(full_.notifySenders).toEqual(['replay', 'sns.amazonaws.com for VerdictEvents']);
    // Without Slack there is no notify queue to ask about.
    expect(answers(json(readOnly.template)).notifySenders).toBeUndefined();
  });

  it('THEN only what feeds a dead-letter queue can send to it (its redrive replays it), whatever IAM says', () => {
    expect(full_.dlqSenders).toEqual({
      DeliveryDlq: ['events.amazonaws.com for our rules', 'scheduler'],
      AttestationDlq: [],
      EvaluationDlq: [],
      PublicationAllowlistFailures: ['allowlist'],
      PublicationRebuildDlq: [],
      PublicationNotifyDlq: ['sns.amazonaws.com for VerdictEvents'],
      RescansContinuationDlq: [],
      RescansPlannerFailures: ['rescan-planner'],
    });
  });

  it('THEN of the stack, only the attestor can push (evaluate cannot), and only to watched repositories; read-only, nobody', () => {
    expect(full_.pushers).toEqual({
      'prod/api': ['attestor'],
      'team/web': ['attestor'],
      'team/x/y': ['attestor'],
      'other/app': [],
    });
    expect(Object.values(answers(json(readOnly.template)).pushers).flat()).toEqual([]);
  });

  it('THEN each item of the table is written only by the roles that own it', () => {
    expect(full_.verdictWriters).toEqual({
      'image items (IMG#…)': ['evaluate'],
      'allowlist sequence (ALLOWLIST)': ['allowlist'],
      'delivery markers (EVENT#…)': ['changes', 'notify', 'replay'],
      'rescan checkpoint (RESCAN)': ['rescan-planner'],
      'any other key': [],
    });
  });

  it('GIVEN the old key policy (one key, kms:Create*/Put* to the account, evaluate signing) THEN the answers say so (the questions can fail)', () => {
    const template = structuredClone(json(full.template));
    const resources = template.Resources as Record<
      string,
      { Type: string; Properties: { KeyPolicy?: { Statement: Json[] } } }
    >;
    const id = Object.keys(resources).find((r) => r.includes('AllowlistSigningKey')) as string;
    const policy = resources[id]?.Properties.KeyPolicy as { Statement: Json[] };
    const evaluateRole = Object.keys(resources).find(
      (r) => r.includes('EvaluateRole') && resources[r]?.Type === 'AWS::IAM::Role',
    );
    policy.Statement = [
      {
        Effect: 'Allow',
        Principal: {
          AWS: {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root'],
            ],
          },
        },
        Action: ['kms:Create*', 'kms:Describe*', 'kms:Get*', 'kms:Put*', 'kms:Verify'],
        Resource: '*',
      },
      ...policy.Statement.filter((s) => s.Effect === 'Allow' && s.Sid === 'TheSignerSigns'),
      {
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::GetAtt': [evaluateRole, 'Arn'] } },
        Action: 'kms:Sign',
        Resource: '*',
        Condition: {
          StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' },
        },
      },
    ];
    expect(answers(template).allowlistKey).toEqual({
      sign: ['allowlist', 'evaluate'],
      grantSign: [ADMIN, CFN_EXEC].sort(),
      rewritePolicy: [ADMIN, CFN_EXEC].sort(),
    });
  });
});

describe('the evaluator itself', () => {
  const admin = ACCOUNT_ADMIN;
  const key = (Statement: Json[]): Resource => ({
    arn: 'arn:aws:kms:eu-west-1:1:key/k',
    kind: 'kms',
    policy: Statement as never,
  });

  it('THEN a key policy that delegates to the account lets IAM decide, and one that does not ignores IAM', () => {
    const root = {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'kms:Get*',
      Resource: '*',
    };
    expect(decide(admin, 'kms:GetPublicKey', key([root]))).toBe('allow');
    expect(decide(admin, 'kms:Sign', key([root]))).toBe('deny');
    expect(decide({ ...admin, identity: [] }, 'kms:GetPublicKey', key([root]))).toBe('deny');
  });

  it('THEN NotAction, ForAnyValue, ForAllValues and negated operators follow IAM, including on missing keys', () => {
    const deny = (Condition: Json) => ({
      Effect: 'Deny',
      Principal: '*',
      NotAction: 'kms:Get*',
      Resource: '*',
      Condition,
    });
    const allowAll = { Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' };
    const grants = (ops?: string[]): Context => (ops ? { 'kms:GrantOperations': ops } : {});
    const anySign = deny({ 'ForAnyValue:StringEquals': { 'kms:GrantOperations': ['Sign'] } });
    expect(
      decide(admin, 'kms:CreateGrant', key([allowAll, anySign]), grants(['Verify', 'Sign'])),
    ).toBe('deny');
    expect(decide(admin, 'kms:CreateGrant', key([allowAll, anySign]), grants(['Verify']))).toBe(
      'allow',
    );
    expect(decide(admin, 'kms:CreateGrant', key([allowAll, anySign]))).toBe('allow');
    expect(decide(admin, 'kms:GetPublicKey', key([allowAll, anySign]), grants(['Sign']))).toBe(
      'allow',
    );
    const notMe = deny({ ArnNotEquals: { 'aws:PrincipalArn': 'arn:aws:iam::1:role/me' } });
    expect(decide(admin, 'kms:Sign', key([allowAll, notMe]))).toBe('deny');
    expect(
      decide({ ...admin, arn: 'arn:aws:iam::1:role/me' }, 'kms:Sign', key([allowAll, notMe])),
    ).toBe('allow');
    expect(decide(service('sns.amazonaws.com'), 'kms:Sign', key([allowAll, notMe]))).toBe('deny');
    const iamOnly = deny({ Null: { 'aws:PrincipalArn': 'false' } });
    expect(decide(admin, 'kms:Sign', key([allowAll, iamOnly]))).toBe('deny');
    expect(decide(service('sns.amazonaws.com'), 'kms:Sign', key([allowAll, iamOnly]))).toBe(
      'allow',
    );
    const onlyImg = {
      Effect: 'Allow',
      Action: 'dynamodb:PutItem',
      Resource: 'arn:t',
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['IMG#*'] } },
    };
    const writer = { ...admin, identity: [onlyImg as never] };
    const table: Resource = { arn: 'arn:t', kind: 'other' };
    expect(decide(writer, 'dynamodb:PutItem', table, { 'dynamodb:LeadingKeys': ['IMG#x'] })).toBe(
      'allow',
    );
    expect(
      decide(writer, 'dynamodb:PutItem', table, { 'dynamodb:LeadingKeys': ['ALLOWLIST'] }),
    ).toBe('deny');
    expect(decide(writer, 'dynamodb:putitem', table, { 'dynamodb:LeadingKeys': ['IMG#x'] })).toBe(
      'allow',
    );
  });

  it('THEN a condition operator it does not know throws instead of answering', () => {
    const odd = {
      Effect: 'Allow',
      Principal: '*',
      Action: '*',
      Resource: '*',
      Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01' } },
    };
    expect(() => decide(admin, 'kms:Sign', key([odd]))).toThrow(/DateLessThan is not modelled/);
  });
});
