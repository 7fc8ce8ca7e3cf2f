import { createHash } from 'node:crypto';
import { type Document, isMap, isNode, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import * as z from 'zod';
import { DAY_MS, parseDuration } from './duration';
import { PolicyError, type PolicyIssue } from './errors';
import { matchesAnyGlob } from './glob';
import { checkExpansion, decodeUtf8, POLICY_LIMITS } from './policy-bounds';
import {
  type GRACE_CLASSES,
  LEGACY_POLICY_API_VERSION,
  POLICY_API_VERSION,
  type PolicyDocument,
  policyDocumentSchema,
  SETTINGS_SECTIONS,
  type SettingsDocument,
} from './policy-schema';
import type { Severity } from './severity';
import type { IdentityRule } from './signed-identity';

export type UnscannedAction = 'deny' | 'warn' | 'allow';

export interface SignatureKey {
  name: string;
  publicKey?: string;
  kms?: string;
}
export interface KeylessIdentity {
  issuer: string;
  subject?: string;
  subjectRegExp?: string;
}
export interface SignatureTrust {
  required: boolean;
  keys: SignatureKey[];
  keyless: KeylessIdentity[];
  /** Which image the signed docker-reference must name; unset = `ignore` (cosign's default). */
  identity?: IdentityRule;
}

/** The settings that apply to one repository, with every default filled in. */
export type GraceClass = Severity | (typeof GRACE_CLASSES)[number];

export interface RuleSettings {
  block: {
    severity: Severity;
    onlyFixable: boolean;
    maxCvss?: number;
    /** Block findings known to be exploited (scanner exploit data or the KEV catalog). */
    exploited?: boolean;
    /** Block findings with an EPSS score at or above this (0..1). */
    epss?: number;
  };
  unscanned: UnscannedAction;
  maxScanAge: string;
  grace: Partial<Record<GraceClass, string>>;
  signatures: SignatureTrust;
}

export interface PolicyException {
  id: string;
  repositories?: string[];
  digests?: string[];
  expires: string;
  /** When the exception stops applying: a date-only `expires` lasts through that UTC day. */
  expiresAt: string;
  owner: string;
  reason: string;
}

export interface Policy {
  apiVersion: typeof POLICY_API_VERSION;
  kind: 'Policy';
  defaults: RuleSettings;
  repositories: { match: string[]; settings: RuleSettings }[];
  exceptions: PolicyException[];
  /** sha256 of the normalised policy: formatting, comments and the apiVersion spelling do not change it. */
  hash: string;
  /** Deprecations found while parsing (the file still loads); `policy check` prints them. */
  warnings: PolicyIssue[];
}

export const BUILT_IN_DEFAULTS: RuleSettings = {
  block: { severity: 'HIGH', onlyFixable: false },
  unscanned: 'deny',
  maxScanAge: '7d',
  grace: {},
  signatures: { required: false, keys: [], keyless: [] },
};

/**
 * How each settings section merges, read from the schema: an object or record section merges
 * key by key (a rule's `block: { severity }` keeps the defaults' `maxCvss`); a value replaces.
 * A new section in the schema merges without an edit here.
 */
const SECTION_MERGE = Object.entries(SETTINGS_SECTIONS).map(([name, schema]) => {
  const inner = schema instanceof z.ZodOptional ? schema.unwrap() : schema;
  const keyed = inner instanceof z.ZodObject || inner instanceof z.ZodRecord;
  return { name: name as keyof RuleSettings, keyed };
});

/** Own, defined entries only: an absent key in the file keeps the base's value. */
function defined(value: object): [string, unknown][] {
  return Object.entries(value).filter(([, v]) => v !== undefined);
}

function merge(base: RuleSettings, over: SettingsDocument | undefined): RuleSettings {
  if (!over) return base;
  // Section names come from the schema, not from the file: no input key indexes anything.
  const merged = new Map<string, unknown>(Object.entries(base));
  const given = new Map(defined(over));
  for (const { name, keyed } of SECTION_MERGE) {
    const value = given.get(name);
    if (value === undefined) continue;
    merged.set(
      name,
      keyed
        ? Object.fromEntries([...defined(base[name] as object), ...defined(value as object)])
        : value,
    );
  }
  return Object.fromEntries(merged) as unknown as RuleSettings;
}

function exceptionEnd(expires: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(expires)) {
    return new Date(Date.parse(`${expires}T00:00:00Z`) + DAY_MS).toISOString();
  }
  return new Date(Date.parse(expires)).toISOString();
}

/** Sorted-key JSON, so the hash depends on content only. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Turns a validated document into the policy the evaluator uses. */
export function normalisePolicy(doc: PolicyDocument): Policy {
  const defaults = merge(BUILT_IN_DEFAULTS, doc.defaults);
  const body = {
    apiVersion: POLICY_API_VERSION,
    kind: doc.kind,
    defaults,
    repositories: (doc.repositories ?? []).map(({ match, ...settings }) => ({
      match: typeof match === 'string' ? [match] : match,
      settings: merge(defaults, settings),
    })),
    exceptions: (doc.exceptions ?? []).map((e) => ({ ...e, expiresAt: exceptionEnd(e.expires) })),
  };
  // Hashed under the old spelling, as before it was renamed: moving a policy to the new
  // apiVersion must not re-judge every digest.
  const hashed = canonicalJson({ ...body, apiVersion: LEGACY_POLICY_API_VERSION });
  const hash = `sha256:${createHash('sha256').update(hashed).digest('hex')}`;
  return { ...body, hash, warnings: [] };
}

/** First matching repository rule wins; no match means the defaults. */
export function settingsFor(policy: Policy, repository: string): RuleSettings {
  return (
    policy.repositories.find((r) => matchesAnyGlob(repository, r.match))?.settings ??
    policy.defaults
  );
}

export function graceMs(settings: RuleSettings, key: GraceClass): number | undefined {
  const value = settings.grace[key];
  return value === undefined ? undefined : parseDuration(value);
}

/**
 * Parses and validates a policy file. Every problem (YAML syntax or schema) is reported
 * at once, each with file, line and column.
 */
export function parsePolicy(text: string, file = 'policy.yaml'): Policy {
  const at1 = (message: string): PolicyIssue => ({ file, line: 1, column: 1, path: '', message });
  if (text.length > POLICY_LIMITS.maxBytes) {
    throw new PolicyError([
      at1(
        `the policy is ${text.length} characters, over the ${POLICY_LIMITS.maxBytes} a policy may have`,
      ),
    ]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw capped(
      doc.errors.slice(0, POLICY_LIMITS.maxIssues).map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, path: '', message: e.message };
      }),
      doc.errors.length,
    );
  }
  const expansion = checkExpansion(doc);
  if (expansion) {
    const pos = lineCounter.linePos(expansion.offset);
    throw new PolicyError([
      {
        file,
        line: pos.line,
        column: pos.col,
        path: '',
        message: `the policy ${expansion.message}`,
      },
    ]);
  }
  let json: unknown;
  try {
    // Bounded by checkExpansion above, which counts what this builds.
    json = doc.toJS({ maxAliasCount: -1 });
  } catch (error) {
    // Unresolvable or exploding aliases surface only when the document is turned into data.
    throw new PolicyError(
      [{ file, line: 1, column: 1, path: '', message: (error as Error).message }],
      {
        cause: error,
      },
    );
  }
  const result = policyDocumentSchema.safeParse(json);
  if (!result.success) {
    const { issues } = result.error;
    throw capped(
      issues.slice(0, POLICY_LIMITS.maxIssues).map((i) => locateIssue(i, doc, lineCounter, file)),
      issues.length,
      result.error,
    );
  }
  const policy = normalisePolicy(result.data);
  if (result.data.apiVersion === LEGACY_POLICY_API_VERSION) {
    const node = doc.get('apiVersion', true);
    const pos = lineCounter.linePos(isNode(node) && node.range ? node.range[0] : 0);
    policy.warnings.push({
      file,
      line: pos.line,
      column: pos.col,
      path: 'apiVersion',
      message: `${LEGACY_POLICY_API_VERSION} is deprecated: write apiVersion: ${POLICY_API_VERSION} (the old value still loads in this release; the policy hash is the same)`,
    });
  }
  return policy;
}

/** The first problems, and a last line that counts the rest. */
function capped(issues: PolicyIssue[], total: number, cause?: unknown): PolicyError {
  const rest = total - issues.length;
  const last = issues[issues.length - 1];
  const listed =
    rest > 0 && last
      ? [...issues, { ...last, path: '', message: `and ${rest} more problem(s) not listed` }]
      : issues;
  return new PolicyError(listed, { total, ...(cause !== undefined && { cause }) });
}

/**
 * A policy file's bytes: at most POLICY_LIMITS.maxBytes, strictly UTF-8 (a byte that is not
 * is an error at its line, not a U+FFFD), then parsePolicy.
 */
export function parsePolicyBytes(bytes: Uint8Array, file = 'policy.yaml'): Policy {
  if (bytes.length > POLICY_LIMITS.maxBytes) {
    throw new PolicyError([
      {
        file,
        line: 1,
        column: 1,
        path: '',
        message: `the file is ${bytes.length} bytes, over the ${POLICY_LIMITS.maxBytes} a policy may have`,
      },
    ]);
  }
  const decoded = decodeUtf8(bytes);
  if ('badOffset' in decoded) {
    const before = bytes.subarray(0, decoded.badOffset);
    const line = before.filter((b) => b === 0x0a).length + 1;
    const column = decoded.badOffset - (before.lastIndexOf(0x0a) + 1) + 1;
    throw new PolicyError([
      { file, line, column, path: '', message: 'not UTF-8: save the file as UTF-8' },
    ]);
  }
  return parsePolicy(decoded.text, file);
}

function locateIssue(
  issue: z.core.$ZodIssue,
  doc: Document,
  lineCounter: LineCounter,
  file: string,
): PolicyIssue {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  let node = nodeAt(doc, path);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys' && isMap(node)) {
    const unknown = issue.keys[0];
    const pair = node.items.find(
      (item) => isNode(item.key) && String((item.key as Node).toJSON()) === unknown,
    );
    if (pair && isNode(pair.key)) node = pair.key;
    message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  const offset = node?.range?.[0] ?? 0;
  const pos = lineCounter.linePos(offset);
  return { file, line: pos.line, column: pos.col, path: formatPath(path), message };
}

/** The deepest YAML node that exists along `path` (a missing key points at its parent). */
function nodeAt(doc: Document, path: (string | number)[]): Node | undefined {
  let node: unknown = doc.contents;
  for (const segment of path) {
    if (!isMap(node) && !isSeq(node)) break;
    const next = node.get(segment, true);
    if (!isNode(next)) break;
    node = next;
  }
  return isNode(node) ? node : undefined;
}

function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
