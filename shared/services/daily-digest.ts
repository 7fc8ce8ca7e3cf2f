import { type DailyDigest, DigestBuilder } from '../domain/daily-digest';
import { type Log, silentLog, type VerdictCatalog } from '../ports';
import type { MessagePublisher } from '../ports/publishing';

export interface PublishDailyDigestOptions {
  /** Every CURRENT verdict (a table Scan in AWS). */
  verdicts: VerdictCatalog;
  /** SNS verdict-events topic; the message carries attribute `type=digest`. */
  publisher: MessagePublisher;
  now: Date;
  /** One digest per id; defaults to `digest-<UTC date>`. Pass the run id for one per run. */
  id?: string;
  /** Figures of the nightly run to include (images planned, missing verdicts, ...). */
  run?: Record<string, number>;
  log?: Log;
}

/**
 * Summarises the verdict table after the nightly rescan and publishes it for `notify`:
 * counts by verdict, digests that turned FAIL in the last 24 h, exceptions ending within
 * 7 days. Called by the rescan planner at the end of a completed run.
 */
export async function publishDailyDigest(options: PublishDailyDigestOptions): Promise<DailyDigest> {
  const builder = new DigestBuilder({
    now: options.now,
    ...(options.id && { id: options.id }),
    ...(options.run && { run: options.run }),
  });
  for await (const page of options.verdicts.pages()) for (const record of page) builder.add(record);
  const digest = builder.build();
  await options.publisher.publish({ kind: 'DailyDigest', digest });
  (options.log ?? silentLog).info('daily digest published', {
    id: digest.id,
    total: digest.total,
    newFails: digest.newFailCount,
    expiringExceptions: digest.expiringExceptions.length,
  });
  return digest;
}
