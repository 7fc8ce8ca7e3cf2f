import { unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { itemOfAttributes } from '../../shared/adapters/aws/attribute-values';
import { streamChangeOf } from '../../shared/adapters/aws/stream-records';

fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED ?? 20261203) });

/** A stream record as Lambda hands it over: JSON text, so `__proto__` keys are own keys. */
const recordOf = (newImageJson: string) =>
  JSON.parse(`{"eventName":"MODIFY","dynamodb":{"SequenceNumber":"7","NewImage":${newImageJson}}}`);

const HOSTILE_IMAGE = `{
  "pk": {"S": "IMG#repo@sha256:1"},
  "signature": {"M": {"__proto__": {"M": {"polluted": {"S": "yes"}}}, "constructor": {"S": "c"}}},
  "topFindings": {"L": [{"M": {"__proto__": {"M": {"severity": {"S": "CRITICAL"}}}}}]},
  "deep": {"M": {"a": {"M": {"__proto__": {"L": [{"S": "x"}]}}}}}
}`;

type Loose = Record<string, Record<string, unknown>>;

describe('stream records: map keys named __proto__', () => {
  it('stay own keys and set no prototype, in maps, maps in lists and nested maps', () => {
    const change = streamChangeOf(recordOf(HOSTILE_IMAGE), 0);
    expect(change.problem).toBeUndefined();
    const item = change.newItem as unknown as Loose;
    const signature = item.signature as Record<string, unknown>;
    const finding = (item.topFindings as unknown as Record<string, unknown>[])[0];
    const inner = (item.deep as Loose).a as Record<string, unknown>;
    for (const map of [item, signature, finding, item.deep, inner]) {
      expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
    }
    expect('polluted' in signature).toBe(false);
    expect('severity' in (finding as object)).toBe(false);
    expect(Object.getOwnPropertyDescriptor(signature, '__proto__')?.value).toEqual({
      polluted: 'yes',
    });
    expect(Object.keys(signature)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(finding, '__proto__')?.value).toEqual({
      severity: 'CRITICAL',
    });
    expect(Object.getOwnPropertyDescriptor(inner, '__proto__')?.value).toEqual(['x']);
    expect(item.pk).toBe('IMG#repo@sha256:1');
  });

  it('control: util-dynamodb unmarshall turns the same key into the prototype', () => {
    const attributes = recordOf(HOSTILE_IMAGE).dynamodb.NewImage;
    const signature = unmarshall(attributes).signature as Record<string, unknown>;
    expect(signature.polluted).toBe('yes');
    expect(Object.keys(signature)).toEqual(['constructor']);
  });

  it('a value that is not an AttributeValue is a problem of that record, not a throw', () => {
    for (const bad of ['{"X": 1}', '{}', '{"S": "a", "N": "1"}', '{"M": [1]}', '"text"']) {
      const change = streamChangeOf(recordOf(`{"pk": {"S": "p"}, "v": ${bad}}`), 0);
      expect(change.problem).toMatchObject({ code: 'INVALID_EVENT' });
      expect(change.newItem).toBeUndefined();
    }
  });
});

/** AttributeValues of every kind the table uses, keys drawn from `keys`. */
function attributeValue(keys: fc.Arbitrary<string>) {
  const { value } = fc.letrec<{ value: Record<string, unknown> }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.string().map((S) => ({ S })),
      fc.integer().map((n) => ({ N: String(n) })),
      fc.boolean().map((BOOL) => ({ BOOL })),
      fc.constant({ NULL: true }),
      fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 3 }).map((SS) => ({ SS })),
      fc.array(tie('value'), { maxLength: 3 }).map((L) => ({ L })),
      fc
        .uniqueArray(fc.tuple(keys, tie('value')), { maxLength: 4, selector: ([k]) => k })
        .map((entries) => ({ M: Object.fromEntries(entries) })),
    ),
  }));
  return value;
}

const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype'];

describe('itemOfAttributes', () => {
  it('reads 500 ordinary items exactly as util-dynamodb unmarshall does', () => {
    const plain = fc.string({ maxLength: 8 }).filter((k) => !PROTO_NAMES.includes(k));
    fc.assert(
      fc.property(fc.dictionary(plain, attributeValue(plain)), (attributes) => {
        expect(itemOfAttributes(attributes)).toEqual(unmarshall(attributes as never));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps every map key of 500 items with prototype-named keys, in order, as own keys', () => {
    const key = fc.oneof(fc.constantFrom(...PROTO_NAMES), fc.string({ maxLength: 4 }));
    fc.assert(
      fc.property(attributeValue(key), (attribute) => {
        const text = JSON.stringify({ top: attribute });
        const item = itemOfAttributes(JSON.parse(text));
        expect(sameShape(JSON.parse(text).top, item.top)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

/** The read value has the attribute's own map keys, in order, at every depth, and plain prototypes. */
function sameShape(attribute: Record<string, unknown>, value: unknown): boolean {
  if ('M' in attribute) {
    const map = attribute.M as Record<string, Record<string, unknown>>;
    const read = value as Record<string, unknown>;
    if (Object.getPrototypeOf(read) !== Object.prototype) return false;
    const keys = Object.keys(map);
    if (JSON.stringify(Object.keys(read)) !== JSON.stringify(keys)) return false;
    return keys.every((k) =>
      sameShape(map[k] as never, Object.getOwnPropertyDescriptor(read, k)?.value),
    );
  }
  if ('L' in attribute) {
    const list = attribute.L as Record<string, unknown>[];
    return Array.isArray(value) && list.every((a, i) => sameShape(a, value[i]));
  }
  return true;
}
