import { StoreConflictError } from '../../shared/domain/errors';
import { type ImageKey, imageId } from '../../shared/domain/image-ref';
import type { VerdictRecord, WritePlan } from '../../shared/domain/verdict-record';
import type { VerdictCatalog, VerdictStore } from '../../shared/ports';
import type {
  RescanCheckpoint,
  RescanCheckpoints,
  StoredCheckpoint,
} from '../../shared/ports/rescan';

/**
 * The verdict table in memory, with the store's version lock: for tests at a scale where
 * dynalite would take minutes (the DynamoDB adapters have their own tests on dynalite).
 * Records are stored as frozen copies and handed out as such, so code that mutated what
 * a store returned would fail loudly here instead of corrupting the table.
 */
export class MemoryVerdicts implements VerdictStore, VerdictCatalog {
  readonly records = new Map<string, VerdictRecord>();

  constructor(private readonly pageSize = 500) {}

  async get(key: ImageKey): Promise<VerdictRecord | undefined> {
    return this.records.get(imageId(key));
  }

  async write(plan: WritePlan): Promise<void> {
    const id = imageId(plan.record);
    const stored = this.records.get(id);
    if ((stored?.version ?? 0) !== plan.expectedVersion) {
      throw new StoreConflictError(`${id} is no longer at version ${plan.expectedVersion}`);
    }
    if (plan.kind === 'none' || (plan.kind === 'touch' && plan.quiet)) return;
    const record =
      plan.kind === 'touch' && stored
        ? { ...stored, evaluatedAt: plan.record.evaluatedAt }
        : structuredClone(plan.record);
    this.records.set(id, deepFreeze(record));
  }

  async *pages(): AsyncIterable<VerdictRecord[]> {
    const all = [...this.records.values()];
    for (let i = 0; i < all.length; i += this.pageSize) {
      yield all.slice(i, i + this.pageSize);
    }
  }
}

/** The checkpoint item in memory, with its version lock; `saves` counts writes. */
export class MemoryCheckpoints implements RescanCheckpoints {
  stored?: StoredCheckpoint;
  saves = 0;

  async load(): Promise<StoredCheckpoint | undefined> {
    return this.stored && structuredClone(this.stored);
  }

  async save(checkpoint: RescanCheckpoint, expectedVersion: number): Promise<number> {
    if ((this.stored?.version ?? 0) !== expectedVersion) {
      throw new StoreConflictError(`checkpoint moved past version ${expectedVersion}`);
    }
    this.saves += 1;
    this.stored = { checkpoint: structuredClone(checkpoint), version: expectedVersion + 1 };
    return expectedVersion + 1;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
