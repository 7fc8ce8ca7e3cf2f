/** Ports of the questions people ask the table (explain, search, what-if): read only. */
import type { ImageKey } from '../domain/image-ref';
import type { HistoryEntry } from '../domain/stored-verdict';
import type { VerdictRecord } from '../domain/verdict-record';

/** One digest's stored verdict and transitions (the verdict table in AWS). */
export interface VerdictReader {
  current(key: ImageKey): Promise<VerdictRecord | undefined>;
  /** Its transitions, in any order (the table keeps them until their TTL). */
  history(key: ImageKey): Promise<HistoryEntry[]>;
  /** CURRENT records of one repository that carry the tag (a filtered Scan in AWS). */
  tagged(registry: string, repository: string, tag: string): Promise<VerdictRecord[]>;
}
