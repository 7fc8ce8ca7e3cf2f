import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import S3rver from 's3rver';
import { allowlistSignatures, allowlistSources } from '../../shared/composition/allowlist';
import { verdictEventMarkers } from '../../shared/composition/changes';
import {
  currentVerdictsIn,
  folderAllowlistTarget,
  inProcessTopic,
  type LocalAllowlistTarget,
  localAllowlistSigner,
  type PublishedFile,
  s3AllowlistTarget,
} from '../../shared/composition/local';
import {
  alertDeliveryMarkers,
  printedSlackSink,
  slackWebhookAt,
} from '../../shared/composition/notify';
import type { Allowlist } from '../../shared/domain/allowlist';
import { type Clock, systemClock } from '../../shared/ports';
import type { AlertSink, StreamChange } from '../../shared/ports/publishing';
import { announceChanges } from '../../shared/services/announce-changes';
import { publishDailyDigest } from '../../shared/services/daily-digest';
import { notifyChannel } from '../../shared/services/notify';
import { publishAllowlist } from '../../shared/services/publish-allowlist';
import { verifyAllowlist } from '../../shared/services/verify-allowlist';
import type { CliIo } from '../io';

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
    ? slackWebhookAt(options.slackWebhookUrl, options.slackMinIntervalMs)
    : printedSlackSink((text) => io.out(text));
  const markers = alertDeliveryMarkers(sink, { tableName: table, documents });
  // In-process SNS: every published message goes straight to notify.
  const sns = inProcessTopic(async (message) => {
    io.out(`  SNS ${message.subject}`);
    const result = await notifyChannel(message.body, { sink, markers, clock });
    if (result.outcome === 'duplicate') io.out('    (already sent to Slack on an earlier run)');
  });

  io.out(
    `\n» changes: ${options.changes.length} stream record(s) → SNS verdict events → Slack ${options.slackWebhookUrl ? '(SLACK_WEBHOOK_URL)' : '(printed; set SLACK_WEBHOOK_URL to post)'}`,
  );
  let rebuilds = 0;
  const outcome = await announceChanges(options.changes, {
    publisher: sns,
    markers: verdictEventMarkers({ tableName: table, documents }),
    trigger: {
      async requestRebuild() {
        rebuilds += 1;
      },
    },
    clock,
  });
  io.out(
    `  ${outcome.published} verdict event(s) published${outcome.escalations ? ` (${outcome.escalations} VerdictEscalated)` : ''}, ${outcome.duplicates} already published; allowlist ${rebuilds ? 'marked for rebuild' : 'unchanged'}`,
  );

  io.out('\n» daily digest (what the nightly rescan sends)');
  await publishDailyDigest({
    verdicts: currentVerdictsIn(table, documents),
    publisher: sns,
    now: clock(),
    id: `local-digest-${clock().toISOString()}`,
  });

  const target = await allowlistTarget(options);
  try {
    io.out(`\n» allowlist: admitted index → signed document → ${target.where}`);
    const result = await publishAllowlist({
      ...allowlistSources(table, documents),
      // Locally the webhook is this version's, so the section is always safe to write.
      maxNotAdmitted: 1000,
      signer: localAllowlistSigner(options.dataDir),
      signatures: allowlistSignatures,
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
  read: (name: PublishedFile) => Promise<Buffer>,
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
    signatures: allowlistSignatures,
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

interface Target extends LocalAllowlistTarget {
  where: string;
  close(): Promise<void>;
}

async function allowlistTarget(options: LocalPublishingOptions): Promise<Target> {
  const spec = options.allowlist ?? join(options.dataDir, 'allowlist');
  if (!spec.startsWith('s3://')) {
    return { ...folderAllowlistTarget(spec), where: `${spec}/`, close: async () => {} };
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
  const target = s3AllowlistTarget(endpoint, bucket, prefix);
  return {
    ...target,
    where: `${spec} at ${endpoint}${server ? ` (s3rver, data in ${options.dataDir}/s3)` : ''}`,
    async close() {
      target.close();
      await server?.close();
    },
  };
}
