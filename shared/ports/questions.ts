/** Ports of the questions people ask the table (explain, search, what-if): read only. */
import type { Scanner } from '../domain/findings';
import type { FactsRef, FindingsFacts } from '../domain/findings-facts';
import type { FleetRecord } from '../domain/fleet-record';
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

/** One item of the fleet read: a current verdict, or one stored facts entry (decoded on demand). */
export type FleetItem =
  | { kind: 'verdict'; record: FleetRecord }
  | {
      kind: 'facts';
      key: ImageKey;
      scanner: Scanner;
      completedAt: string;
      /**
       * Decodes it (and reads its parts, if any): only facts a current verdict names are.
       * With `keep`, the findings are decoded only when it accepts their encoded text
       * (encodeFindings), else none are: a search skips facts that cannot match.
       */
      load(keep?: (encoded: string) => boolean): Promise<FindingsFacts>;
    };

/**
 * Every CURRENT verdict and every stored facts entry of the table in one read (one parallel
 * Scan in AWS), in any order; what-if and search join them.
 */
export interface FleetScan {
  pages(): AsyncIterable<FleetItem[]>;
  /** One manifest's facts, for a verdict whose facts the read passed before the verdict. */
  facts(
    key: ImageKey,
    ref: Pick<FactsRef, 'scanner' | 'completedAt'>,
  ): Promise<FindingsFacts | undefined>;
}
