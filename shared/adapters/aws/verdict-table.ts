import { createHash } from 'node:crypto';
import type { ImageKey } from '../../domain/image-ref';
import { imageId } from '../../domain/image-ref';

/**
 * The one-table layout of DESIGN §5, shared by the store adapter and the CDK construct so
 * the two can never disagree.
 */
export const VERDICT_TABLE = {
  partitionKey: 'pk',
  /** Partition keys of image items (CURRENT and history): `IMG#<registry>/<repository>@<digest>`. */
  imagePrefix: 'IMG#',
  sortKey: 'sk',
  currentSortKey: 'CURRENT',
  historyPrefix: 'H#',
  ttlAttribute: 'ttl',
  /** Sparse GSI: only admitted (PASS/WARN, not deleted) digests carry its key. */
  admittedIndex: 'admitted',
  admittedPartitionKey: 'admitted',
  admittedSortKey: 'pk',
  admittedShards: 8,
  /** Attributes the allowlist needs, projected into the GSI. */
  admittedProjection: [
    'registry',
    'repository',
    'digest',
    'tags',
    'verdict',
    'expiresAt',
    'policyHash',
  ],
  /**
   * Sparse GSI: only judged digests that are not admitted (FAIL, PENDING, ERROR, deleted)
   * carry its key, newest transition first; the allowlist's `notAdmitted` section reads it.
   */
  refusedIndex: 'refused',
  refusedPartitionKey: 'refused',
  refusedSortKey: 'transitionAt',
  refusedProjection: ['registry', 'repository', 'digest', 'verdict', 'deletedAt'],
  /**
   * Sparse GSI of what the fleet questions (what-if, search) read: current, not deleted
   * CURRENT items (their compact record `q`) and facts heads (their findings), nothing else.
   */
  fleetIndex: 'fleet',
  fleetPartitionKey: 'fleet',
  fleetSortKey: 'pk',
  fleetShards: 64,
  // Keys are projected anyway: a facts head's manifest and scan are read from pk and sk.
  fleetProjection: [
    'q',
    'status',
    'description',
    'vulnerabilitySourceUpdatedAt',
    'enc',
    'hash',
    'parts',
    'f',
  ],
  counterPartitionKey: 'ALLOWLIST',
  counterSortKey: 'SEQUENCE',
} as const;

export function imagePartitionKey(key: ImageKey): string {
  return `${VERDICT_TABLE.imagePrefix}${imageId(key)}`;
}

/** Shard of the sparse indexes, from a hash of the pk: spreads their items over partitions. */
export function admittedShard(pk: string, shards: number = VERDICT_TABLE.admittedShards): number {
  return createHash('sha256').update(pk).digest().readUInt32BE(0) % shards;
}

/** The fleet index's partition: more shards than `admitted`, so a parallel Scan of it is even. */
export function fleetShard(pk: string): number {
  return admittedShard(pk, VERDICT_TABLE.fleetShards);
}
