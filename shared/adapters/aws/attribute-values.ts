import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { convertToNative } from '@aws-sdk/util-dynamodb';

/**
 * An item in AttributeValue form (a stream image, as Lambda hands it over as JSON) as plain
 * values. Unlike util-dynamodb's `unmarshall`, which assigns map keys into `{}`, maps are built
 * from their own entries, so a `__proto__` key stays an own property instead of setting the
 * prototype of the object (and everything read through it). Scalars and sets are converted by
 * util-dynamodb, which does not build maps for them.
 */
export function itemOfAttributes(attributes: Record<string, unknown>): Record<string, unknown> {
  return mapOf(attributes);
}

function mapOf(attributes: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, nativeOf(v)]));
}

function nativeOf(attribute: unknown): unknown {
  if (typeof attribute === 'object' && attribute !== null && !Array.isArray(attribute)) {
    const own = Object.entries(attribute).filter(([, v]) => v !== undefined);
    const [kind, value] = own.length === 1 ? (own[0] as [string, unknown]) : [];
    if (kind === 'M' && isObject(value)) return mapOf(value);
    if (kind === 'L' && Array.isArray(value)) return value.map(nativeOf);
    if (kind !== 'M' && kind !== 'L' && kind !== undefined) {
      return convertToNative(attribute as AttributeValue);
    }
  }
  throw new TypeError(`not an AttributeValue: ${shapeOf(attribute)}`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function shapeOf(v: unknown): string {
  if (!isObject(v)) return Array.isArray(v) ? 'a list' : typeof v;
  return `{${Object.keys(v).slice(0, 3).join(', ')}}`;
}
