import { InvalidVerdictError } from '../../domain/errors';
import { imageId } from '../../domain/image-ref';
import type { VerdictRecord } from '../../domain/verdict-record';

/**
 * A VerdictRecord as a CURRENT item, and back. Keys that come from input (finding ids in
 * `findingClock`) never become attribute-map keys: util-dynamodb's marshall refuses a map
 * with a `constructor` key ("Unsupported type passed"), and both marshall and the SDK's wire
 * serde build maps by assignment into `{}`, which drops a `__proto__` key without a word.
 * So such maps are stored as lists of `{ id, at }`; every other map has keys of our own.
 */
/** How every DynamoDB adapter marshalls (documentClient): no class instance becomes a map. */
export const MARSHALL_OPTIONS = {
  removeUndefinedValues: true,
  convertClassInstanceToMap: false,
} as const;

type StoredClock = { id: string; at: string }[];

/** Map keys the SDK path drops or refuses (seen with util-dynamodb 3.996 and dynalite). */
const UNSTORABLE_KEYS = new Set(['__proto__', 'constructor']);

/** Attributes of the item that are not part of the record. */
const ITEM_ONLY = new Set(['pk', 'sk', 'admitted', 'refused', 'fleet', 'q', 'historyPending']);

function clockItem(clock: Readonly<Record<string, string>>): StoredClock {
  return Object.entries(clock).map(([id, at]) => ({ id, at }));
}

/**
 * The stored clock as the record's: the list form, or the map of items written before it
 * (read through own entries). Ids become own keys through fromEntries, never by assignment.
 */
function clockOfItem(stored: unknown): Record<string, string> {
  const pairs: [string, string][] = [];
  if (Array.isArray(stored)) {
    for (const entry of stored) {
      if (typeof entry?.id === 'string' && typeof entry?.at === 'string')
        pairs.push([entry.id, entry.at]);
    }
  } else if (typeof stored === 'object' && stored !== null) {
    for (const [id, at] of Object.entries(stored)) {
      if (typeof at === 'string') pairs.push([id, at]);
    }
  }
  return Object.fromEntries(pairs);
}

/** The record's attributes for a CURRENT item (keys added by the caller). */
export function recordItem(record: VerdictRecord): Record<string, unknown> {
  const item: Record<string, unknown> = { ...record, findingClock: clockItem(record.findingClock) };
  assertStorable(item, imageId(record));
  return item;
}

/** A CURRENT item as the record it holds (item-only attributes left out). */
export function recordOfItem(item: Record<string, unknown>): VerdictRecord {
  const record = Object.fromEntries(Object.entries(item).filter(([k]) => !ITEM_ONLY.has(k)));
  record.findingClock = clockOfItem(item.findingClock);
  return record as unknown as VerdictRecord;
}

/**
 * Refuses, by name and path, an item holding a map key the SDK would drop or refuse: a
 * field added later with input keys fails its first write instead of losing data.
 */
function assertStorable(value: unknown, what: string, path = ''): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      assertStorable(v, what, `${path}[${i}]`);
    });
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (UNSTORABLE_KEYS.has(key)) {
      throw new InvalidVerdictError(
        `verdict of ${what} cannot be stored: the map key ${JSON.stringify(key)} at ${at} would be lost on the way to DynamoDB`,
      );
    }
    assertStorable(v, what, at);
  }
}
