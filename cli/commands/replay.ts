import type { Command } from 'commander';
import { withExamples } from '../../shared/command-line/help';
import {
  formatOf,
  type OutputFlags,
  renderEach,
  withOutput,
} from '../../shared/command-line/output';
import { replayKeptRecords } from '../../shared/composition/replay';
import type { ReplayOutcome } from '../../shared/services/replay-records';
import { CliFailure, type CliIo } from '../io';

interface ReplayFlags extends OutputFlags {
  bucket?: string;
  table?: string;
  topicArn?: string;
  rebuildQueueUrl?: string;
  prefix: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

function required(value: string | undefined, flag: string, variable: string): string {
  if (value) return value;
  throw new CliFailure(`${flag} (or $${variable}) is required`, 2);
}

export function registerReplay(program: Command, io: CliIo): void {
  const command = program
    .command('replay')
    .description(
      'Republish stream records the changes function kept (parked records and Lambda S3 on-failure batches) through the same idempotent path: nothing announced before is announced again',
    )
    .option('--bucket <name>', 'failed-records bucket (default: $FAILED_RECORDS_BUCKET)')
    .option('--table <name>', 'verdict table, for the idempotency markers (default: $TABLE_NAME)')
    .option('--topic-arn <arn>', 'verdict-events topic (default: $VERDICT_TOPIC_ARN)')
    .option('--rebuild-queue-url <url>', 'allowlist rebuild queue (default: $ALLOWLIST_QUEUE_URL)')
    .option('--prefix <prefix>', 'only objects under this key prefix, repeatable', collect, []);
  withOutput(command, { default: 'text', jsonAlias: true });
  withExamples(command, [
    [
      'Replay everything kept, with the names the stack outputs in the environment',
      'registry-watcher replay',
    ],
    [
      'Only the parked records, one JSON object per line (the totals go to stderr)',
      'registry-watcher replay --bucket registry-watcher-failed-records --prefix parked/changes/ -o json',
    ],
  ]);
  command.action(async (flags: ReplayFlags) => {
    const format = formatOf(flags, io, command);
    const env = process.env;
    const bucket = required(
      flags.bucket ?? env.FAILED_RECORDS_BUCKET,
      '--bucket',
      'FAILED_RECORDS_BUCKET',
    );
    const table = required(flags.table ?? env.TABLE_NAME, '--table', 'TABLE_NAME');
    const topic = required(
      flags.topicArn ?? env.VERDICT_TOPIC_ARN,
      '--topic-arn',
      'VERDICT_TOPIC_ARN',
    );
    const queue = required(
      flags.rebuildQueueUrl ?? env.ALLOWLIST_QUEUE_URL,
      '--rebuild-queue-url',
      'ALLOWLIST_QUEUE_URL',
    );
    const outcomes = await replayKeptRecords({
      bucket,
      ...(flags.prefix.length > 0 && { prefixes: flags.prefix }),
      pathStyle: env.AWS_ENDPOINT_URL_S3 !== undefined,
      tableName: table,
      topicArn: topic,
      rebuildQueueUrl: queue,
    });
    for (const outcome of outcomes) io.out(renderEach(format, outcome, line));
    const failed = outcomes.filter((o) => o.error || o.failed.length > 0).length;
    // With -o json|yaml stdout holds only the objects; the totals are for the person.
    (format === 'text' ? io.out : io.err)(
      `${outcomes.length} objects replayed, ${failed} with failures`,
    );
    if (failed > 0) throw new CliFailure(`${failed} objects could not be replayed in full`);
  });
}

function line(o: ReplayOutcome): string {
  if (o.error) return `${o.name}: not replayed: ${o.error}`;
  const failed = o.failed.length > 0 ? `, failed again: ${o.failed.join(' ')}` : '';
  return `${o.name}: ${o.records} records, ${o.published} published, ${o.duplicates} announced before${failed}`;
}
