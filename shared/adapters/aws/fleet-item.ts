import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import { FLEET_RECORD_ATTRIBUTES, type FleetRecord } from '../../domain/fleet-record';
import type { VerdictRecord } from '../../domain/verdict-record';

/**
 * `q` on a CURRENT item: the record as the fleet questions read it (FleetRecord), one
 * brotli-compressed JSON array `[version, record]`, the clock as `[id, at]` pairs. One
 * binary attribute instead of some 60 nested AttributeValues: decoding those was most of the
 * client's time reading the fleet (docs/architecture.md, Fleet index).
 */
const Q_VERSION = 1;

/** Past this, `q` is left out and the questions read the whole CURRENT item instead. */
export const FLEET_RECORD_MAX_BYTES = 64_000;

export function fleetRecordBytes(record: VerdictRecord): Buffer | undefined {
  const fields: Record<string, unknown> = {};
  for (const name of FLEET_RECORD_ATTRIBUTES) {
    if (record[name] !== undefined) fields[name] = record[name];
  }
  fields.findingClock = Object.entries(record.findingClock);
  const text = JSON.stringify([Q_VERSION, fields]);
  const bytes = brotliCompressSync(Buffer.from(text, 'utf8'), {
    params: {
      // Written on every transition and update: a fast level, small records compress alike.
      [constants.BROTLI_PARAM_QUALITY]: 5,
      [constants.BROTLI_PARAM_SIZE_HINT]: text.length,
    },
  });
  return bytes.length <= FLEET_RECORD_MAX_BYTES ? bytes : undefined;
}

/**
 * The record `q` holds; undefined for a version this reader does not know (the caller
 * reads the item's attributes instead). JSON.parse defines keys as own properties, and the
 * clock is rebuilt from its pairs, so an id such as `__proto__` stays an ordinary key.
 */
export function fleetRecordOf(q: Uint8Array): FleetRecord | undefined {
  const parsed = JSON.parse(brotliDecompressSync(q).toString('utf8')) as unknown;
  if (!Array.isArray(parsed) || parsed[0] !== Q_VERSION) return undefined;
  const fields = parsed[1] as Record<string, unknown>;
  const clock = Array.isArray(fields.findingClock) ? (fields.findingClock as unknown[]) : [];
  fields.findingClock = Object.fromEntries(
    clock.filter(
      (p): p is [string, string] =>
        Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'string',
    ),
  );
  return fields as unknown as FleetRecord;
}
