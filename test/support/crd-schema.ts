/**
 * Validates an object against a CRD's `openAPIV3Schema` the way the API server does with
 * strict field validation (kubectl's default `--validate=strict`): structural-schema types,
 * unknown fields rejected unless `x-kubernetes-preserve-unknown-fields` or
 * `additionalProperties` allow them, and the value validations (enum, pattern, lengths,
 * bounds, formats, oneOf/anyOf/allOf/not, list-type set/map uniqueness). A schema keyword it
 * does not know throws, so a schema that asks for more than this checks cannot pass quietly.
 * `metadata` is left to {@link objectMetaErrors}, as the API server validates ObjectMeta itself.
 * Ajv is not used: JSON Schema lets unknown fields through, which the API server does not.
 */
import { isDeepStrictEqual } from 'node:util';

// biome-ignore lint/suspicious/noExplicitAny: schemas and values are untyped JSON
type Json = any;

const ANNOTATIONS = new Set(['description', 'default', 'x-kubernetes-map-type', 'example']);
const KNOWN = new Set([
  ...ANNOTATIONS,
  'type',
  'properties',
  'additionalProperties',
  'items',
  'required',
  'enum',
  'format',
  'pattern',
  'maxLength',
  'minLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'maxItems',
  'minItems',
  'maxProperties',
  'minProperties',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'nullable',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
]);

/** Errors of `value` under `schema`, each prefixed with its JSON path. */
export function crdSchemaErrors(schema: Json, value: Json, path = ''): string[] {
  for (const key of Object.keys(schema)) {
    if (!KNOWN.has(key))
      throw new Error(`${path || '<root>'}: schema keyword ${key} not supported`);
  }
  if (value === null) return schema.nullable ? [] : [`${path}: null is not allowed`];
  const typeError = typeErrorOf(schema, value, path);
  if (typeError) return [typeError];
  return [
    ...valueErrors(schema, value, path),
    ...childErrors(schema, value, path),
    ...combinatorErrors(schema, value, path),
  ];
}

function typeErrorOf(schema: Json, value: Json, path: string): string | undefined {
  if (schema['x-kubernetes-int-or-string']) {
    return Number.isInteger(value) || typeof value === 'string'
      ? undefined
      : `${path}: must be an integer or a string`;
  }
  const ok: Record<string, (v: Json) => boolean> = {
    object: (v) => typeof v === 'object' && !Array.isArray(v),
    array: Array.isArray,
    string: (v) => typeof v === 'string',
    integer: Number.isInteger,
    number: (v) => typeof v === 'number' && Number.isFinite(v),
    boolean: (v) => typeof v === 'boolean',
  };
  if (schema.type === undefined) return undefined;
  const test = ok[schema.type];
  if (!test) throw new Error(`${path}: type ${schema.type} not supported`);
  return test(value) ? undefined : `${path}: must be of type ${schema.type}`;
}

function valueErrors(schema: Json, value: Json, path: string): string[] {
  const errors: string[] = [];
  const fail = (message: string) => errors.push(`${path}: ${message}`);
  if (schema.enum && !schema.enum.some((e: Json) => isDeepStrictEqual(e, value))) {
    fail(`must be one of ${JSON.stringify(schema.enum)}`);
  }
  if (typeof value === 'string') {
    const length = [...value].length; // the API server counts runes
    if (schema.maxLength !== undefined && length > schema.maxLength) fail('too long');
    if (schema.minLength !== undefined && length < schema.minLength) fail('too short');
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
      fail(`must match ${schema.pattern}`);
    }
    if (schema.format === 'date-time' && !RFC3339.test(value)) fail('must be RFC 3339');
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`above ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) fail('too low');
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) fail('too high');
    if (schema.format === 'int32' && (value < -(2 ** 31) || value >= 2 ** 31)) fail('not int32');
    if (schema.format === 'int64' && !Number.isSafeInteger(value)) fail('not int64');
  }
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail('too many items');
    if (schema.minItems !== undefined && value.length < schema.minItems) fail('too few items');
    errors.push(...listTypeErrors(schema, value, path));
  }
  if (typeof value === 'object' && !Array.isArray(value)) {
    const size = Object.keys(value).length;
    if (schema.maxProperties !== undefined && size > schema.maxProperties) fail('too many');
    if (schema.minProperties !== undefined && size < schema.minProperties) fail('too few');
    for (const key of schema.required ?? []) {
      if (!Object.hasOwn(value, key)) fail(`${key} is required`);
    }
  }
  return errors;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function listTypeErrors(schema: Json, value: Json[], path: string): string[] {
  const type = schema['x-kubernetes-list-type'];
  if (type === undefined || type === 'atomic') return [];
  const keyOf =
    type === 'set'
      ? (item: Json) => item
      : type === 'map'
        ? (item: Json) => (schema['x-kubernetes-list-map-keys'] as string[]).map((k) => item?.[k])
        : undefined;
  if (!keyOf) throw new Error(`${path}: x-kubernetes-list-type ${type} not supported`);
  const keys = value.map(keyOf);
  return keys.some((k, i) => keys.findIndex((other) => isDeepStrictEqual(other, k)) !== i)
    ? [`${path}: duplicate entries in a list of type ${type}`]
    : [];
}

function childErrors(schema: Json, value: Json, path: string): string[] {
  if (Array.isArray(value)) {
    return schema.items
      ? value.flatMap((item, i) => crdSchemaErrors(schema.items, item, `${path}[${i}]`))
      : [];
  }
  if (typeof value !== 'object') return [];
  const properties: Record<string, Json> = schema.properties ?? {};
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const additional = schema.additionalProperties;
  return Object.entries(value).flatMap(([key, child]) => {
    const childPath = `${path}.${key}`;
    if (path === '' && key === 'metadata') return []; // ObjectMeta: objectMetaErrors
    if (Object.hasOwn(properties, key)) return crdSchemaErrors(properties[key], child, childPath);
    if (typeof additional === 'object') return crdSchemaErrors(additional, child, childPath);
    if (additional === true || preserve) return [];
    if (schema.type === undefined && schema.properties === undefined) return [];
    return [`${childPath}: unknown field`];
  });
}

function combinatorErrors(schema: Json, value: Json, path: string): string[] {
  const passes = (sub: Json) => crdSchemaErrors(sub, value, path).length === 0;
  const errors: string[] = [];
  if (schema.oneOf && schema.oneOf.filter(passes).length !== 1) {
    errors.push(`${path}: must match exactly one of ${JSON.stringify(schema.oneOf)}`);
  }
  if (schema.anyOf && !schema.anyOf.some(passes)) errors.push(`${path}: must match anyOf`);
  for (const sub of schema.allOf ?? []) errors.push(...crdSchemaErrors(sub, value, path));
  if (schema.not && passes(schema.not)) {
    errors.push(`${path}: must not match ${JSON.stringify(schema.not)}`);
  }
  return errors;
}

/**
 * ObjectMeta as the API server checks it for a cluster-scoped object: a DNS subdomain name,
 * label keys and values and annotation keys of Kubernetes' qualified-name syntax
 * (k8s.io/apimachinery/pkg/util/validation: IsQualifiedName, IsValidLabelValue,
 * IsDNS1123Subdomain).
 */
export function objectMetaErrors(metadata: Json): string[] {
  const errors: string[] = [];
  if (typeof metadata?.name !== 'string' || !isDnsSubdomain(metadata.name)) {
    errors.push(`metadata.name: ${metadata?.name} is not a DNS subdomain`);
  }
  for (const [key, value] of Object.entries(metadata?.labels ?? {})) {
    if (!isQualifiedName(key)) errors.push(`metadata.labels: key ${key} is not a qualified name`);
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
      errors.push(`metadata.labels.${key}: ${value} is not a valid label value`);
    }
  }
  for (const [key, value] of Object.entries(metadata?.annotations ?? {})) {
    if (!isQualifiedName(key)) errors.push(`metadata.annotations: ${key} is not a qualified name`);
    if (typeof value !== 'string') errors.push(`metadata.annotations.${key}: not a string`);
  }
  return errors;
}

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && value.split('.').every((part) => DNS_LABEL.test(part));
}

function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  const name = parts.at(-1) ?? '';
  if (parts.length > 2 || name.length > 63 || !NAME_PART.test(name)) return false;
  return parts.length === 1 || (parts[0] !== undefined && isDnsSubdomain(parts[0]));
}
