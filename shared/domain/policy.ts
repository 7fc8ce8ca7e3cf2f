import { createHash } from 'node:crypto';
import * as z from 'zod';
import { DAY_MS, parseDuration } from './duration';
import { PolicyError, type PolicyIssue } from './errors';
import { matchesAnyGlob } from './glob';
import { POLICY_LIMITS } from './policy-bounds';
import {
  type GRACE_CLASSES,
  LEGACY_POLICY_API_VERSION,
  POLICY_API_VERSION,
  type PolicyDocument,
  policyDocumentSchema,
  SETTINGS_SECTIONS,
  type SettingsDocument,
} from './policy-schema';
import { canonicalRegistry } from './registry-host';
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
  /** `registries` absent: the rule matches in every registry (canonical hosts or globs). */
  repositories: { match: string[]; registries?: string[]; settings: RuleSettings }[];
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
    // A rule without `registry` hashes as it did before the field existed (canonicalJson
    // leaves undefined out): no existing policy re-judges a digest.
    repositories: (doc.repositories ?? []).map(({ match, registry, ...settings }) => ({
      match: typeof match === 'string' ? [match] : match,
      ...(registry !== undefined && {
        registries: (typeof registry === 'string' ? [registry] : registry).map(canonicalRegistry),
      }),
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

/**
 * First matching repository rule wins; no match means the defaults. A rule matches the
 * repository in any registry unless it names registries (docs/policy.md, Repository rules).
 */
export function settingsFor(
  policy: Policy,
  image: { registry: string; repository: string },
): RuleSettings {
  return (
    policy.repositories.find(
      (r) =>
        matchesAnyGlob(image.repository, r.match) &&
        (r.registries === undefined || matchesAnyGlob(image.registry, r.registries)),
    )?.settings ?? policy.defaults
  );
}

export function graceMs(settings: RuleSettings, key: GraceClass): number | undefined {
  const value = settings.grace[key];
  return value === undefined ? undefined : parseDuration(value);
}

/** Where a problem sits in the text the data came from: YAML knows lines, plain data does not. */
export type PolicyLocator = (
  path: (string | number)[],
  unknownKey?: string,
) => { line: number; column: number };

const AT_START: PolicyLocator = () => ({ line: 1, column: 1 });

/** A validated policy and the document it came from (what infra ships to the functions). */
export interface ValidatedPolicy {
  policy: Policy;
  document: PolicyDocument;
}

/**
 * Validates policy data and normalises it: the step after YAML (policy-yaml.ts, for the CLI,
 * `npm start` and synth) and the whole load in the functions, which read the JSON infra
 * renders at synth and so never load a YAML parser. Every schema problem is reported at
 * once, each placed by `locate`.
 */
export function validatePolicy(
  data: unknown,
  file: string,
  locate: PolicyLocator = AT_START,
): ValidatedPolicy {
  const result = policyDocumentSchema.safeParse(data);
  if (!result.success) {
    const { issues } = result.error;
    throw cappedPolicyError(
      issues.slice(0, POLICY_LIMITS.maxIssues).map((i) => issueAt(i, file, locate)),
      issues.length,
      result.error,
    );
  }
  const policy = normalisePolicy(result.data);
  policy.warnings.push(...hostPrefixWarnings(result.data, file, locate));
  if (result.data.apiVersion === LEGACY_POLICY_API_VERSION) {
    policy.warnings.push({
      file,
      ...locate(['apiVersion']),
      path: 'apiVersion',
      message: `${LEGACY_POLICY_API_VERSION} is deprecated: write apiVersion: ${POLICY_API_VERSION} (the old value still loads in this release; the policy hash is the same)`,
    });
  }
  return { policy, document: result.data };
}

/** A first path segment that reads as a registry host: `localhost`, a port, or a DNS name. */
const HOST_LIKE = /^(?:localhost|[^/]*:[0-9*]+|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})$/i;

/**
 * `match: "ghcr.io/acme/*"` is a repository glob (ECR names may hold dots), never a registry
 * plus a repository: say so where the author may have meant `registry:`.
 */
function hostPrefixWarnings(doc: PolicyDocument, file: string, locate: PolicyLocator) {
  return (doc.repositories ?? []).flatMap((rule, i) =>
    (typeof rule.match === 'string' ? [rule.match] : rule.match).flatMap((glob, j) => {
      const slash = glob.indexOf('/');
      const host = slash > 0 ? glob.slice(0, slash) : '';
      if (!HOST_LIKE.test(host)) return [];
      const path: (string | number)[] =
        typeof rule.match === 'string'
          ? ['repositories', i, 'match']
          : ['repositories', i, 'match', j];
      return [
        {
          file,
          ...locate(path),
          path: formatPath(path),
          message: `match "${glob}" is read as a repository name (repository names may contain dots), not as registry ${host}: to narrow the rule to that registry, write registry: ${host} and match: "${glob.slice(slash + 1)}"`,
        },
      ];
    }),
  );
}

/** The first problems, and a last line that counts the rest. */
export function cappedPolicyError(
  issues: PolicyIssue[],
  total: number,
  cause?: unknown,
): PolicyError {
  const rest = total - issues.length;
  const last = issues[issues.length - 1];
  const listed =
    rest > 0 && last
      ? [...issues, { ...last, path: '', message: `and ${rest} more problem(s) not listed` }]
      : issues;
  return new PolicyError(listed, { total, ...(cause !== undefined && { cause }) });
}

function issueAt(issue: z.core.$ZodIssue, file: string, locate: PolicyLocator): PolicyIssue {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  const unknown = issue.code === 'unrecognized_keys' ? issue.keys : undefined;
  const message = unknown
    ? `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}`
    : issue.message;
  return { file, ...locate(path, unknown?.[0]), path: formatPath(path), message };
}

function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
