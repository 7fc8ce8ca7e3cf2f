import {
  decodeFindings,
  encodeFindings,
  type FactsRef,
  type FindingsFacts,
  findingsHash,
} from '../../domain/findings-facts';
import { type ImageKey, imageId } from '../../domain/image-ref';
import type { FindingsFactsStore } from '../../ports';

interface Stored {
  facts: Omit<FindingsFacts, 'findings'>;
  /** Kept encoded, as the table keeps them: what is read back went through the codec. */
  encoded: string;
}

/** Findings facts in memory (unit tests, benchmarks' reference); same keys as the table. */
export class MemoryFindingsFacts implements FindingsFactsStore {
  private readonly entries = new Map<string, Stored>();

  async put(facts: FindingsFacts): Promise<FactsRef> {
    const { findings, ...rest } = facts;
    const encoded = encodeFindings(findings);
    this.entries.set(entryKey(facts.key, facts), { facts: rest, encoded });
    return {
      digest: facts.key.digest,
      scanner: facts.scanner,
      completedAt: facts.completedAt,
      hash: findingsHash(encoded),
      count: findings.length,
    };
  }

  async get(
    key: ImageKey,
    ref: Pick<FactsRef, 'scanner' | 'completedAt'>,
  ): Promise<FindingsFacts | undefined> {
    const stored = this.entries.get(entryKey(key, ref));
    return stored && { ...stored.facts, findings: decodeFindings(stored.encoded) };
  }

  async *pages(): AsyncIterable<FindingsFacts[]> {
    const all = [...this.entries.values()];
    for (let i = 0; i < all.length; i += 100) {
      yield all.slice(i, i + 100).map((s) => ({ ...s.facts, findings: decodeFindings(s.encoded) }));
    }
  }

  /** How many entries are stored (tests). */
  get size(): number {
    return this.entries.size;
  }
}

function entryKey(key: ImageKey, ref: Pick<FactsRef, 'scanner' | 'completedAt'>): string {
  return `${imageId(key)}#${ref.completedAt}#${ref.scanner}`;
}
