import type { SQSEvent } from 'aws-lambda';
import { loadFixture } from '../../events';
import type { BatchMetrics } from '../../shared/adapters/aws/batch-metrics';
import { createEvaluateHandler, evaluateRequestEvent } from '../../shared/composition/evaluate';
import { openLocalTable } from '../../shared/composition/local';
import { imageId } from '../../shared/domain/image-ref';
import type { WritePlan } from '../../shared/domain/verdict-record';
import { loadPolicyFile } from '../../shared/policy-file';
import { type Log, systemClock, type VerdictStore } from '../../shared/ports';
import type { CliIo } from '../io';
import { showAdmission } from './admission-demo';
import { LOCAL_TABLE, startLocalDynalite } from './local-table';
import { runLocalPublishing } from './publishing';
import {
  CLEAN_IMAGE,
  DELETED_IMAGE,
  ESCALATED_IMAGE,
  INDEX_DIGEST,
  laterScanOfEscalatedImage,
  SAMPLE_NOW,
  SAMPLE_REGISTRY,
  sampleWorld,
} from './sample-world';

export interface LocalRunOptions {
  dataDir: string;
  io: CliIo;
  policyFile?: string;
  /** The clock that judges the sample world (default: pinned to SAMPLE_NOW). */
  judgeAt?: () => Date;
  /** The clock that announces, signs and checks admission (default: the machine's). */
  now?: () => Date;
  /** Where the signed allowlist goes: a folder (default dataDir/allowlist) or s3://bucket/prefix. */
  allowlist?: string;
  s3Endpoint?: string;
  slackWebhookUrl?: string;
}

/** CloudWatch's EMF lines are noise on a terminal: the local run keeps its metrics to itself. */
const unprintedMetrics: BatchMetrics = {
  addMetric: () => undefined,
  publishStoredMetrics: () => undefined,
};

/**
 * `npm start`: the evaluate pipeline on this machine with no AWS account. DynamoDB is
 * dynalite, kept under the data folder (`explain`, `search`, `what-if` read it with
 * `--local`), ECR is the world of events/, and the evaluate
 * handler receives the sample events as SQS batches, as it would in Lambda.
 */
export async function runLocal(options: LocalRunOptions): Promise<void> {
  const { io } = options;
  const server = await startLocalDynalite(options.dataDir, true);
  let table: Awaited<ReturnType<typeof openLocalTable>> | undefined;
  try {
    table = await openLocalTable(server.endpoint, LOCAL_TABLE);
    const { documents } = table;
    const policyFile = options.policyFile ?? 'infra/policy.yaml';
    const policy = loadPolicyFile(policyFile);
    const world = sampleWorld();
    const judgeAt = options.judgeAt ?? (() => SAMPLE_NOW);
    const printed = printing(table.store, io);
    const store = table.recorder(printed.store);
    const { facts } = table;
    const log = quietLog(io);
    const handler = createEvaluateHandler(
      () => ({ images: world, findings: world, facts, store, policy, log, clock: judgeAt }),
      unprintedMetrics,
      log,
    );
    io.out(
      `registry-watcher local run: policy ${policyFile} (${policy.hash.slice(0, 19)}…), DynamoDB (dynalite) in ${options.dataDir}/dynamodb`,
    );
    io.out(
      `verdicts judged at ${judgeAt().toISOString()}${options.judgeAt ? '' : ", the sample world's own time (pinned, so they do not age; --judge-at ISO to move it)"}`,
    );

    const batches: [string, SQSEvent][] = [
      ['ECR push and scan events, as SQS delivers them', loadFixture('sqs/ecr-push-in-sqs')],
      [
        'Inspector2 events, one duplicated (coalesced into one evaluation)',
        sqsBatch([
          loadFixture('eventbridge/inspector2-scan-ecr'),
          loadFixture('eventbridge/inspector2-finding-ecr'),
          loadFixture('eventbridge/inspector2-finding-ecr'),
        ]),
      ],
      [
        'reconcile: images no event announced (what the nightly run finds)',
        sqsBatch(
          [ESCALATED_IMAGE, DELETED_IMAGE, CLEAN_IMAGE].map((key) =>
            evaluateRequestEvent(key, 'reconcile', judgeAt()),
          ),
        ),
      ],
    ];
    for (const [title, event] of batches) {
      io.out(`\n» ${title}`);
      const result = await handler(event);
      printed.flush();
      reportFailures(result.batchItemFailures, io);
    }
    // The FAIL of prod/api:1.3.0 gets worse without a verdict change: announced as an escalation.
    world.putScan(ESCALATED_IMAGE, laterScanOfEscalatedImage());
    io.out('\n» Inspector2 Finding: a new CRITICAL in prod/api:1.3.0, already FAIL');
    const worse = await handler(
      sqsBatch([loadFixture('eventbridge/inspector2-finding-ecr-new-critical')]),
    );
    printed.flush();
    reportFailures(worse.batchItemFailures, io);
    world.delete(DELETED_IMAGE);
    io.out('\n» ECR DELETE event for team-a/web');
    const deleted = await handler(sqsBatch([loadFixture('eventbridge/ecr-image-action-delete')]));
    printed.flush();
    reportFailures(deleted.batchItemFailures, io);
    const allowlist = await runLocalPublishing({
      dataDir: options.dataDir,
      io,
      documents,
      table: LOCAL_TABLE,
      changes: store.drain(),
      policyHash: policy.hash,
      ...(options.allowlist && { allowlist: options.allowlist }),
      ...(options.s3Endpoint && { s3Endpoint: options.s3Endpoint }),
      ...(options.slackWebhookUrl && { slackWebhookUrl: options.slackWebhookUrl }),
      ...(options.now && { now: options.now }),
    });
    showAdmission(
      allowlist,
      [
        { label: 'team-a/web:2.1.0 by digest', key: CLEAN_IMAGE },
        {
          label: 'prod/api:1.4.2 by digest',
          key: { ...CLEAN_IMAGE, repository: 'prod/api', digest: INDEX_DIGEST },
        },
        { label: 'team-a/web:2.0.0 (deleted)', key: DELETED_IMAGE },
        { label: 'team-a/web:2.1.0 by tag', reference: `${SAMPLE_REGISTRY}/team-a/web:2.1.0` },
      ],
      io,
      (options.now ?? systemClock)(),
    );
    io.out(
      `\nDone. Run again: the recording is replayed on the same table; images it does not change are only touched (evaluatedAt), its deletion and its new CRITICAL happen and are announced again.`,
    );
  } finally {
    table?.destroy();
    await server.close();
  }
}

/** Local runs show verdicts, not log lines: only warnings and errors are printed. */
function quietLog(io: CliIo): Log {
  const print =
    (level: string) =>
    (message: string, ...extra: Record<string, unknown>[]) =>
      io.err(
        `  ${level}: ${message}${extra.length ? ` ${JSON.stringify(Object.assign({}, ...extra))}` : ''}`,
      );
  return { debug() {}, info() {}, warn: print('warn'), error: print('error') };
}

function sqsBatch(events: object[]): SQSEvent {
  return {
    Records: events.map((event, i) => ({
      messageId: `local-${Date.now()}-${i}`,
      receiptHandle: 'local',
      body: JSON.stringify(event),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:registry-watcher-evaluate',
      awsRegion: 'eu-west-1',
    })),
  };
}

function reportFailures(failures: { itemIdentifier: string }[], io: CliIo): void {
  for (const f of failures)
    io.err(`  message ${f.itemIdentifier} failed (in AWS it would be retried, then reach the DLQ)`);
}

/**
 * Prints every verdict stored, per batch and in image order: a batch is evaluated
 * concurrently, so the order writes finish in is not the same from run to run.
 */
function printing(store: VerdictStore, io: CliIo): { store: VerdictStore; flush(): void } {
  let written: WritePlan[] = [];
  const imageOrder = ({ record }: WritePlan) => `${record.repository}@${record.digest}`;
  return {
    store: {
      get: (key) => store.get(key),
      async write(plan: WritePlan) {
        await store.write(plan);
        written.push(plan);
      },
    },
    flush() {
      const batch = written.sort((a, b) =>
        imageOrder(a) < imageOrder(b) ? -1 : imageOrder(a) > imageOrder(b) ? 1 : 0,
      );
      written = [];
      for (const plan of batch) io.out(describeWrite(plan));
    },
  };
}

function describeWrite({ kind, record }: WritePlan): string {
  const tags = record.tags.length > 0 ? ` [${record.tags.join(', ')}]` : '';
  const what =
    kind === 'transition'
      ? `${record.previousVerdict ?? 'new'} → ${record.verdict}${
          record.deletedAt
            ? ' (deleted: leaves the allowlist)'
            : record.previousVerdict === record.verdict
              ? ' (pushed again after a deletion)'
              : ''
        }`
      : kind === 'touch'
        ? `${record.verdict} unchanged (only evaluatedAt written)`
        : `${record.verdict} (facts updated, no transition)`;
  const reasons = record.reasons
    .filter((r) => r.effect !== 'info')
    .map((r) => `    ${r.code}${r.platform ? ` [${r.platform}]` : ''}: ${r.message}`);
  return [
    `  ${record.verdict.padEnd(7)} ${imageId(record).replace(`${SAMPLE_REGISTRY}/`, '')}${tags}  ${what}`,
    ...reasons,
  ].join('\n');
}
