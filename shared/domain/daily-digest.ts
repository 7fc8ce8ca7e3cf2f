import { DAY_MS } from './duration';
import { imageId } from './image-ref';
import type { Severity } from './severity';
import { VERDICTS, type VerdictValue } from './verdict';
import { EVENTS_API_VERSION, expiringExceptions } from './verdict-event';
import type { VerdictRecord } from './verdict-record';

const LISTED = 50;

export interface DigestImage {
  id: string;
  repository: string;
  digest: string;
  tags: string[];
}

/** The summary sent after the nightly rescan (docs/events.md, kind DailyDigest). */
export interface DailyDigest {
  apiVersion: typeof EVENTS_API_VERSION;
  kind: 'DailyDigest';
  /** Deduplication key: one digest per run (or per UTC day). */
  id: string;
  time: string;
  /** Current verdicts of digests that still exist. */
  counts: Record<VerdictValue, number>;
  total: number;
  /** Digests that turned FAIL in the last 24 hours (at most 50 listed; `newFailCount` is exact). */
  newFails: (DigestImage & {
    previousVerdict: VerdictValue | null;
    failedAt: string;
    maxSeverity: Severity | 'NONE';
    reason?: string;
  })[];
  newFailCount: number;
  /** Exceptions that end within 7 days, with how many current verdicts lean on them. */
  expiringExceptions: {
    id: string;
    owner: string;
    expiresAt: string;
    images: number;
    examples: string[];
  }[];
  /** Figures of the run that asked for the digest (images planned, missing verdicts, ...). */
  run?: Record<string, number>;
}

export interface DigestInput {
  now: Date;
  /** Dedup key; defaults to the UTC date, so one digest per day. */
  id?: string;
  run?: Record<string, number>;
}

/** Accumulates CURRENT records page by page, so a large table never sits in memory. */
export class DigestBuilder {
  private readonly counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<
    VerdictValue,
    number
  >;
  private readonly fails: DailyDigest['newFails'] = [];
  private failCount = 0;
  private readonly exceptions = new Map<string, DailyDigest['expiringExceptions'][number]>();

  constructor(private readonly input: DigestInput) {}

  add(record: VerdictRecord): void {
    if (record.deletedAt) return;
    const now = this.input.now.getTime();
    this.counts[record.verdict] += 1;
    const at = Date.parse(record.transitionAt ?? '');
    if (
      record.verdict === 'FAIL' &&
      record.previousVerdict !== 'FAIL' &&
      at > now - DAY_MS &&
      at <= now
    ) {
      this.failCount += 1;
      const blocking = record.reasons.find((r) => r.effect === 'fail');
      this.fails.push({
        id: imageId(record),
        repository: record.repository,
        digest: record.digest,
        tags: record.tags,
        previousVerdict: record.previousVerdict ?? null,
        failedAt: new Date(at).toISOString(),
        maxSeverity: record.maxSeverity,
        ...(blocking && { reason: blocking.message }),
      });
      // Keep the most recent ones only.
      if (this.fails.length > LISTED * 2) this.trimFails();
    }
    for (const e of expiringExceptions(record.reasons, now)) {
      const entry = this.exceptions.get(e.id) ?? { ...e, images: 0, examples: [] };
      entry.images += 1;
      if (entry.examples.length < 5) entry.examples.push(imageId(record));
      this.exceptions.set(e.id, entry);
    }
  }

  private trimFails(): void {
    this.fails.sort((a, b) => b.failedAt.localeCompare(a.failedAt) || a.id.localeCompare(b.id));
    this.fails.length = Math.min(this.fails.length, LISTED);
  }

  build(): DailyDigest {
    this.trimFails();
    const { now, run } = this.input;
    return {
      apiVersion: EVENTS_API_VERSION,
      kind: 'DailyDigest',
      id: this.input.id ?? `digest-${now.toISOString().slice(0, 10)}`,
      time: now.toISOString(),
      counts: { ...this.counts },
      total: Object.values(this.counts).reduce((a, b) => a + b, 0),
      newFails: [...this.fails],
      newFailCount: this.failCount,
      expiringExceptions: [...this.exceptions.values()].sort(
        (a, b) => a.expiresAt.localeCompare(b.expiresAt) || a.id.localeCompare(b.id),
      ),
      ...(run && { run }),
    };
  }
}

export function buildDailyDigest(
  records: Iterable<VerdictRecord>,
  input: DigestInput,
): DailyDigest {
  const builder = new DigestBuilder(input);
  for (const record of records) builder.add(record);
  return builder.build();
}
