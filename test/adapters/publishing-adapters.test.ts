import { createHash, createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import {
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { loadFixture } from '../../events';
import { SqsRebuildTrigger } from '../../shared/adapters/aws/allowlist-trigger';
import { KmsSigner } from '../../shared/adapters/aws/kms-signer';
import { S3AllowlistStore } from '../../shared/adapters/aws/s3-allowlist-store';
import { SecretsManagerWebhookUrl } from '../../shared/adapters/aws/slack-secret';
import { SnsPublisher } from '../../shared/adapters/aws/sns-publisher';
import { signMessageBundle, verifyMessageBundle } from '../../shared/adapters/sigstore/bundles';
import { slackEnvironment } from '../../shared/adapters/slack/environment';
import { type Announcement, parseAnnouncement } from '../../shared/domain/announcement';
import { ConfigError, StoreConflictError, UpstreamError } from '../../shared/domain/errors';
import { readEnvironmentOf } from '../../shared/environment';
import type { AllowlistPublication } from '../../shared/ports/publishing';
import {
  allowlistEnvironment,
  changesEnvironment,
  notifyEnvironment,
} from '../../shared/publishing-config';

const region = { region: 'eu-west-1' };
// What `changes` publishes for a FAIL transition: the fixture is that SNS delivery.
const body = loadFixture('sns/verdict-event').Records[0]?.Sns.Message ?? '';
const message = parseAnnouncement(body) as Extract<Announcement, { kind: 'VerdictChanged' }>;

describe('SnsPublisher', () => {
  const sns = mockClient(SNSClient);
  beforeEach(() => sns.reset());

  it('publishes subject, body and string attributes for filter policies', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const topic = 'arn:aws:sns:eu-west-1:123456789012:verdict-events';
    await new SnsPublisher(topic, new SNSClient(region)).publish(message);
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    // The body is the event as received (its keys in the parser's order).
    expect(JSON.parse(input?.Message ?? '')).toEqual(JSON.parse(body));
    expect(input).toEqual({
      TopicArn: topic,
      Subject: '[registry-watcher] FAIL (was PASS): prod/api:1.4.2',
      Message: expect.any(String),
      MessageAttributes: {
        type: { DataType: 'String', StringValue: 'verdict' },
        verdict: { DataType: 'String', StringValue: 'FAIL' },
        previousVerdict: { DataType: 'String', StringValue: 'PASS' },
        repository: { DataType: 'String', StringValue: 'prod/api' },
        registry: {
          DataType: 'String',
          StringValue: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        },
        maxSeverity: { DataType: 'String', StringValue: 'CRITICAL' },
        deleted: { DataType: 'String', StringValue: 'false' },
      },
    });
  });

  it('lets a FIFO topic deduplicate by transition id, with ids of at most 128 characters', async () => {
    sns.on(PublishCommand).resolves({});
    await new SnsPublisher(
      'arn:aws:sns:eu-west-1:123456789012:verdict-events.fifo',
      new SNSClient(region),
    ).publish(message);
    const imageId = message.event.image.id;
    const long = `${imageId.replace('prod/api', `prod/${'a'.repeat(80)}`)}`;
    await new SnsPublisher(
      'arn:aws:sns:eu-west-1:123456789012:verdict-events.fifo',
      new SNSClient(region),
    ).publish({
      ...message,
      event: { ...message.event, image: { ...message.event.image, id: long } },
    });
    const [short, hashed] = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(short?.MessageDeduplicationId).toBe('9265367ca05d7cf7e63327161d68fb30');
    expect(short?.MessageGroupId).toBe(
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/api@sha256:73235fc137395a546bbc3ff6f9b989cd7afcaf4c09e611e63b46c4ec18f43b4e',
    );
    expect(hashed?.MessageGroupId).toMatch(/^[a-f0-9]{64}$/);
  });

  it('marks throttling so the stream record is retried', async () => {
    sns
      .on(PublishCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' }));
    const publisher = new SnsPublisher('arn:aws:sns:eu-west-1:1:t', new SNSClient(region));
    await expect(publisher.publish(message)).rejects.toMatchObject({
      code: 'UPSTREAM_THROTTLED',
    });
    await expect(publisher.publish(message)).rejects.toBeInstanceOf(UpstreamError);
  });
});

describe('SqsRebuildTrigger', () => {
  const sqs = mockClient(SQSClient);
  it('carries the dirty keys, deduplicated per window and key set', async () => {
    sqs.reset();
    sqs.on(SendMessageCommand).resolves({});
    const url = 'https://sqs.eu-west-1.amazonaws.com/123456789012/allowlist-rebuild.fifo';
    const trigger = new SqsRebuildTrigger(url, 1_000, new SQSClient(region));
    const at = new Date('2026-11-23T02:14:08.517Z');
    await trigger.requestRebuild(at, 'batch 1', ['IMG#b', 'IMG#a', 'IMG#b']);
    await trigger.requestRebuild(at, 'batch 1 again', ['IMG#a', 'IMG#b']);
    await trigger.requestRebuild(at, 'batch 2', ['IMG#c']);
    const inputs = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    const ids = inputs.map((i) => i.MessageDeduplicationId ?? '');
    // A retried batch is dropped by SQS; another batch in the same window is not.
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
    for (const id of ids) expect(id).toMatch(/^rebuild-1795400048-[0-9a-f]{32}$/);
    expect(JSON.parse(inputs[0]?.MessageBody ?? '').dirty).toEqual(['IMG#a', 'IMG#b']);
    sqs.reset();
  });

  it('sends one FIFO message per debounce window', async () => {
    sqs.on(SendMessageCommand).resolves({});
    const url = 'https://sqs.eu-west-1.amazonaws.com/123456789012/allowlist-rebuild.fifo';
    const trigger = new SqsRebuildTrigger(url, 30_000, new SQSClient(region));
    await trigger.requestRebuild(new Date('2026-11-23T02:14:08.517Z'), 'stream record 1');
    await trigger.requestRebuild(new Date('2026-11-23T02:14:29.999Z'), 'stream record 2');
    await trigger.requestRebuild(new Date('2026-11-23T02:14:30.000Z'), 'stream record 3');
    const inputs = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.MessageDeduplicationId)).toEqual([
      'rebuild-59846668',
      'rebuild-59846668',
      'rebuild-59846669',
    ]);
    expect(inputs[0]).toMatchObject({ QueueUrl: url, MessageGroupId: 'allowlist' });
    expect(JSON.parse(inputs[0]?.MessageBody ?? '')).toEqual({
      reason: 'stream record 1',
      requestedAt: '2026-11-23T02:14:08.517Z',
      notBefore: '2026-11-23T02:14:30.000Z',
    });
  });
});

describe('S3AllowlistStore conditional writes', () => {
  const s3 = mockClient(S3Client);
  beforeEach(() => s3.reset());
  const publication: AllowlistPublication = {
    document: Buffer.from('{"sequence":8}'),
    bundle: { mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' } as never,
    publicKeyPem: '-----BEGIN PUBLIC KEY-----\n...',
    sequence: 8,
  };
  const store = () =>
    new S3AllowlistStore({ bucket: 'b', prefix: 'prod/', client: new S3Client(region) });

  it('reads the current ETag and sequence, or nothing before the first write', async () => {
    s3.on(HeadObjectCommand).resolvesOnce({ ETag: '"e7"', Metadata: { sequence: '7' } });
    expect(await store().current()).toEqual({ etag: '"e7"', sequence: 7 });
    s3.on(HeadObjectCommand).rejects(
      new S3ServiceException({
        name: 'NotFound',
        $fault: 'client',
        $metadata: { httpStatusCode: 404 },
      }),
    );
    expect(await store().current()).toBeUndefined();
  });

  it('writes allowlist.json with If-Match on the ETag it read, then bundle and key', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e8"' });
    await store().publish(publication, { etag: '"e7"', sequence: 7 });
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.Key)).toEqual([
      'prod/allowlist.json',
      'prod/allowlist.json.sigstore.json',
      'prod/allowlist.pub',
    ]);
    expect(puts[0]).toMatchObject({ IfMatch: '"e7"', ContentType: 'application/json' });
    expect(puts[0]?.IfNoneMatch).toBeUndefined();
    expect(puts[0]?.Metadata?.sequence).toBe('8');
    expect(
      JSON.parse(Buffer.from(puts[0]?.Metadata?.['sigstore-bundle'] ?? '', 'base64').toString()),
    ).toEqual(publication.bundle);
  });

  it('creates the first allowlist only if none exists (If-None-Match: *)', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    await store().publish(publication, undefined);
    const first = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(first?.IfNoneMatch).toBe('*');
    expect(first?.IfMatch).toBeUndefined();
  });

  it.each([
    ['PreconditionFailed', 412],
    ['ConditionalRequestConflict', 409],
  ])('turns %s into a conflict and writes nothing else', async (name, status) => {
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status } }),
    );
    await expect(store().publish(publication, { etag: '"stale"' })).rejects.toBeInstanceOf(
      StoreConflictError,
    );
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
  });
});

describe('KmsSigner', () => {
  const kms = mockClient(KMSClient);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  /** Node cannot sign a bare digest, so the fake KMS looks up what the digest is of. */
  const preimages = new Map<string, Buffer>();
  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

  it('signs a SHA-256 digest with ECDSA_SHA_256 so the bundle verifies with the KMS public key', async () => {
    kms.on(SignCommand).callsFake((input: { Message: Uint8Array; MessageType: string }) => {
      const data = preimages.get(Buffer.from(input.Message).toString('hex'));
      if (input.MessageType !== 'DIGEST' || !data) throw new Error('not a digest of known data');
      // ECDSA_SHA_256 over that digest: the same signature as signing the data with SHA-256.
      return { Signature: sign('sha256', data, { key, dsaEncoding: 'der' }) };
    });
    kms.on(GetPublicKeyCommand).resolves({
      PublicKey: publicKey.export({ type: 'spki', format: 'der' }),
      KeySpec: 'ECC_NIST_P256',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    });
    const signer = new KmsSigner('alias/registry-watcher', new KMSClient(region));
    const data = Buffer.from('{"apiVersion":"registry-watcher/v1"}');
    preimages.set(sha256(data).toString('hex'), data);
    const bundle = await signMessageBundle(data, signer);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => verifyMessageBundle(data, bundle, pem)).not.toThrow();
    expect(() => verifyMessageBundle(Buffer.from(`${data} `), bundle, pem)).toThrow();
    expect(kms.commandCalls(SignCommand)[0]?.args[0].input).toMatchObject({
      KeyId: 'alias/registry-watcher',
      MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expect(await signer.publicKeyPem()).toBe(pem);
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
  });
});

describe('SecretsManagerWebhookUrl', () => {
  const secrets = mockClient(SecretsManagerClient);
  beforeEach(() => secrets.reset());
  const url = 'https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX';

  it.each([
    ['the URL itself', url],
    ['JSON with url', JSON.stringify({ url })],
    ['JSON with webhookUrl', JSON.stringify({ webhookUrl: url })],
  ])('reads %s and caches it', async (_name, SecretString) => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString });
    let now = 0;
    const source = new SecretsManagerWebhookUrl('arn:aws:secretsmanager:eu-west-1:1:secret:slack', {
      client: new SecretsManagerClient(region),
      cacheMs: 300_000,
      now: () => now,
    });
    expect((await source.url()).reveal()).toBe(url);
    now = 299_000;
    await source.url();
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now = 300_000;
    await source.url();
    source.invalidate();
    await source.url();
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it('never prints the URL: not in logs, JSON, inspect or errors', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: url });
    const source = new SecretsManagerWebhookUrl('slack', {
      client: new SecretsManagerClient(region),
    });
    const value = await source.url();
    const { inspect } = await import('node:util');
    for (const shown of [String(value), JSON.stringify({ value }), inspect(value), `${value}`]) {
      expect(shown).not.toContain('SECRET');
      expect(shown).toContain('redacted');
    }
  });

  it.each([
    ['http://hooks.slack.com/services/T/B/SECRETX', /https:\/\//],
    ['not a url SECRETX', /not a URL/],
    ['{"token":"SECRETX"}', /without a "url" key/],
    ['{SECRETX', /does not parse/],
  ])('rejects %j without repeating it', async (SecretString, reason) => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString });
    const source = new SecretsManagerWebhookUrl('slack', {
      client: new SecretsManagerClient(region),
    });
    const error = await source.url().catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).not.toContain('SECRETX');
  });
});

describe('function environments', () => {
  it('reads valid environments with defaults', () => {
    const env = readEnvironmentOf(changesEnvironment, {
      TABLE_NAME: 'verdicts',
      VERDICT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:verdict-events',
      ALLOWLIST_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/rebuild.fifo',
      FAILED_RECORDS_BUCKET: 'failed-records',
    });
    expect(env).toMatchObject({ REBUILD_DEBOUNCE: 1_000, MARKER_LEASE: 120_000 });
    const allowlist = readEnvironmentOf(allowlistEnvironment, {
      TABLE_NAME: 'verdicts',
      ALLOWLIST_BUCKET: 'bucket',
      ALLOWLIST_KMS_KEY_ID: 'alias/k',
      ALLOWLIST_VALIDITY: '12h',
    });
    expect(allowlist).toMatchObject({
      ALLOWLIST_VALIDITY: 43_200_000,
      ALLOWLIST_PREFIX: '',
      REBUILD_DEBOUNCE: 1_000,
      REBUILD_MIN_INTERVAL: 3_000,
    });
    const notifyVariables = {
      TABLE_NAME: 'verdicts',
      SLACK_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:slack',
      NOTIFY_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/notify',
    };
    const notify = readEnvironmentOf(notifyEnvironment, notifyVariables);
    // Unset, the lease is notify's timeout (5 min), as the stack deploys it.
    expect(notify).toMatchObject({ MARKER_LEASE: 300_000 });
    // The channel's own variables, read from the same environment.
    expect(readEnvironmentOf(slackEnvironment, notifyVariables)).toEqual({
      SLACK_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:slack',
      SLACK_MIN_INTERVAL: 1_000,
      SLACK_SECRET_CACHE: 300_000,
    });
  });

  it('names every problem', () => {
    expect(() =>
      readEnvironmentOf(allowlistEnvironment, {
        TABLE_NAME: 'verdicts',
        ALLOWLIST_BUCKET: 'bucket',
        ALLOWLIST_PREFIX: 'no-slash',
        ALLOWLIST_VALIDITY: 'forever',
      }),
    ).toThrow(
      /ALLOWLIST_PREFIX: a prefix ends with "\/".*ALLOWLIST_KMS_KEY_ID.*ALLOWLIST_VALIDITY: expected a duration/,
    );
  });
});
