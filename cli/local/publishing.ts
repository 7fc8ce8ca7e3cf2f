import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import S3rver from 's3rver';
import { DynamoDbAdmittedImages } from '../../shared/adapters/aws/admitted-images';
import { DynamoDbSequenceCounter } from '../../shared/adapters/aws/allowlist-sequence';
import { awsClient } from '../../shared/adapters/aws/clients';
import { DynamoDbCurrentVerdicts } from '../../shared/adapters/aws/current-verdicts';
import { DeliveryMarkers } from '../../shared/adapters/aws/delivery-markers';
import { allowlistKeys, S3AllowlistStore } from '../../shared/adapters/aws/s3-allowlist-store';
import { imagePartitionKey, VERDICT_TABLE } from '../../shared/adapters/aws/verdict-table';
import { FileSigner } from '../../shared/adapters/local/file-signer';
import { FolderAllowlistStore } from '../../shared/adapters/local/folder-allowlist-store';
import { SlackWebhook } from '../../shared/adapters/slack/webhook';
import { staticWebhookUrl } from '../../shared/adapters/slack/webhook-url';
import type { Allowlist } from '../../shared/domain/allowlist';
import type { SlackMessage } from '../../shared/domain/slack-message';
import type { WritePlan } from '../../shared/domain/verdict-record';
import { type Clock, systemClock, type VerdictStore } from '../../shared/ports';
import type { AlertSink, AllowlistStore, MessagePublisher } from '../../shared/ports/publishing';
import { announceChanges, type StreamChange } from '../../shared/services/announce-changes';
import { publishDailyDigest } from '../../shared/services/daily-digest';
import { notifySlack } from '../../shared/services/notify-slack';
import { publishAllowlist } from '../../shared/services/publish-allowlist';
import { verifyAllowlist } from '../../shared/services/verify-allowlist';
import type { CliIo } from '../io';

/**
 * dynalite has no streams: this store records each write's CURRENT item before and after,
 * which is exactly what a NEW_AND_OLD_IMAGES stream record carries.
 */
export class ChangeRecorder implements VerdictStore {
  private readonly changes: StreamChange[] = [];

  constructor(
    private readonly store: VerdictStore,
    private readonly documents: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  get: VerdictStore['get'] = (key) => this.store.get(key);

  async write(plan: WritePlan): Promise<void> {
    const before = await this.item(plan);
    await this.store.write(plan);
    const after = await this.item(plan);
    this.changes.push({
      id: String(this.changes.length + 1),
      ...(before && { oldItem: before }),
      ...(after && { newItem: after }),
    });
  }

  /**
   * The recorded changes, grouped by image and in write order within each (as a stream
   * orders them per key), so a run prints the same messages in the same order each time;
   * the recorder starts empty again.
   */
  drain(): StreamChange[] {
    const image = (c: StreamChange) => String((c.newItem ?? c.oldItem)?.pk ?? '');
    return this.changes
      .splice(0)
      .sort((a, b) => (image(a) < image(b) ? -1 : image(a) > image(b) ? 1 : 0));
  }

  private async item(plan: WritePlan) {
    const out = await this.documents.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: imagePartitionKey(plan.record), sk: VERDICT_TABLE.currentSortKey },
        ConsistentRead: true,
      }),
    );
    return out.Item;
  }
}

export interface LocalPublishingOptions {
  dataDir: string;
  io: CliIo;
  documents: DynamoDBDocumentClient;
  table: string;
  changes: StreamChange[];
  policyHash: string;
  /** `s3://bucket[/prefix]` writes through the S3 API (s3rver under dataDir unless s3Endpoint). */
  allowlist?: string;
  s3Endpoint?: string;
  /** Post to this Slack webhook; without it, messages are printed. */
  slackWebhookUrl?: string;
  /** Pacing between Slack posts (Slack allows about one per second). */
  slackMinIntervalMs?: number;
  now?: Clock;
}

/**
 * The announcing half of `npm start`: stream changes → verdict events → Slack (or stdout),
 * the daily digest, and the signed allowlist, built, written and verified as a consumer would.
 */
/** Returns the allowlist as a consumer verified it. */
export async function runLocalPublishing(options: LocalPublishingOptions): Promise<Allowlist> {
  const { io, documents, table } = options;
  const clock = options.now ?? systemClock;
  const sink: AlertSink = options.slackWebhookUrl
    ? new SlackWebhook({
        urls: staticWebhookUrl(options.slackWebhookUrl),
        ...(options.slackMinIntervalMs !== undefined && {
          minIntervalMs: options.slackMinIntervalMs,
        }),
      })
    : printingSink(io);
  const slackMarkers = new DeliveryMarkers({
    tableName: table,
    channel: 'SLACK',
    client: documents,
  });
  // In-process SNS: every published message goes straight to notify.
  const sns: MessagePublisher = {
    async publish(message) {
      io.out(`  SNS ${message.subject}`);
      const result = await notifySlack(message.body, { sink, markers: slackMarkers, clock });
      if (result.outcome === 'duplicate') io.out('    (already sent to Slack on an earlier run)');
    },
  };

  io.out(
    `\n» changes: ${options.changes.length} stream record(s) → SNS verdict events → Slack ${options.slackWebhookUrl ? '(SLACK_WEBHOOK_URL)' : '(printed; set SLACK_WEBHOOK_URL to post)'}`,
  );
  let rebuilds = 0;
  const outcome = await announceChanges(options.changes, {
    publisher: sns,
    markers: new DeliveryMarkers({ tableName: table, channel: 'SNS', client: documents }),
    trigger: {
      async requestRebuild() {
        rebuilds += 1;
      },
    },
    clock,
  });
  io.out(
    `  ${outcome.published} verdict event(s) published, ${outcome.duplicates} already published; allowlist ${rebuilds ? 'marked for rebuild' : 'unchanged'}`,
  );

  io.out('\n» daily digest (what the nightly rescan sends)');
  await publishDailyDigest({
    verdicts: new DynamoDbCurrentVerdicts({ tableName: table, client: documents }),
    publisher: sns,
    now: clock(),
    id: `local-digest-${clock().toISOString()}`,
  });

  const target = await allowlistTarget(options);
  try {
    io.out(`\n» allowlist: admitted index → signed document → ${target.where}`);
    const signer = FileSigner.loadOrCreate(join(options.dataDir, 'allowlist-signing-key.pem'));
    const result = await publishAllowlist({
      admitted: new DynamoDbAdmittedImages({ tableName: table, client: documents }),
      sequence: new DynamoDbSequenceCounter(table, documents),
      signer,
      store: target.store,
      policyHash: options.policyHash,
      validityMs: 86_400_000,
      clock,
    });
    io.out(
      `  sequence ${result.allowlist.sequence}: ${result.digests} digest(s), ${result.bytes} bytes, valid until ${result.allowlist.validUntil}`,
    );
    return await verifyAsConsumer(options, target.read, clock());
  } finally {
    await target.close();
  }
}

/** Verifies the published files the way enforcement does, remembering the last sequence. */
async function verifyAsConsumer(
  options: LocalPublishingOptions,
  read: (name: keyof ReturnType<typeof allowlistKeys>) => Promise<Buffer>,
  now: Date,
): Promise<Allowlist> {
  const seenFile = join(options.dataDir, 'allowlist-consumer.json');
  const seen = existsSync(seenFile)
    ? (JSON.parse(readFileSync(seenFile, 'utf8')) as { sequence?: number }).sequence
    : undefined;
  const [document, bundle, key] = await Promise.all([
    read('document'),
    read('bundle'),
    read('publicKey'),
  ]);
  const allowlist = verifyAllowlist(document, JSON.parse(bundle.toString()), {
    publicKeyPem: key.toString(),
    now,
    ...(seen !== undefined && { minSequence: seen }),
  });
  writeFileSync(seenFile, JSON.stringify({ sequence: allowlist.sequence }));
  const digests = Object.values(allowlist.images).reduce((n, r) => n + Object.keys(r).length, 0);
  options.io.out(
    `  verified as a consumer would: signature, schema, sequence ${allowlist.sequence} ≥ ${seen ?? 'none seen'}, not expired; ${digests} digest(s) admitted`,
  );
  return allowlist;
}

interface Target {
  where: string;
  store: AllowlistStore;
  read(name: keyof ReturnType<typeof allowlistKeys>): Promise<Buffer>;
  close(): Promise<void>;
}

async function allowlistTarget(options: LocalPublishingOptions): Promise<Target> {
  const spec = options.allowlist ?? join(options.dataDir, 'allowlist');
  if (!spec.startsWith('s3://')) {
    const store = new FolderAllowlistStore(spec);
    return {
      where: `${spec}/`,
      store,
      read: async (name) => readFileSync(store.paths[name]),
      close: async () => {},
    };
  }
  const [bucket = '', ...rest] = spec.slice('s3://'.length).split('/');
  const prefix =
    rest.length > 0 && rest.join('/') !== '' ? `${rest.join('/').replace(/\/?$/, '/')}` : '';
  let server: S3rver | undefined;
  let endpoint = options.s3Endpoint;
  if (!endpoint) {
    const directory = join(options.dataDir, 's3');
    mkdirSync(directory, { recursive: true });
    server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory,
      configureBuckets: [{ name: bucket }],
    });
    endpoint = `http://127.0.0.1:${(await server.run()).port}`;
  }
  const client = awsClient(S3Client, {
    endpoint,
    region: 'eu-west-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const keys = allowlistKeys(prefix);
  return {
    where: `${spec} at ${endpoint}${server ? ` (s3rver, data in ${options.dataDir}/s3)` : ''}`,
    store: new S3AllowlistStore({ bucket, prefix, client }),
    async read(name) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: keys[name] }));
      return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
    },
    async close() {
      client.destroy();
      await server?.close();
    },
  };
}

/** Without a webhook, a Slack message is printed as the lines a person would read. */
export function printingSink(io: CliIo): AlertSink {
  return {
    async post(message: SlackMessage) {
      const lines = message.blocks.flatMap((block) => {
        if (block.type === 'header') return [`┌ ${block.text.text}`];
        if (block.type === 'section') {
          return [
            block.text?.text ?? '',
            ...(block.fields ?? []).map((f) => f.text.replace('\n', ': ')),
          ]
            .filter((t) => t !== '')
            .flatMap((t) => t.split('\n'));
        }
        if (block.type === 'context') return block.elements.map((e) => e.text);
        return [];
      });
      io.out(lines.map((l, i) => (i === 0 ? `    ${l}` : `    │ ${l}`)).join('\n'));
    },
  };
}
