import * as z from 'zod';
import { isDuration } from './duration';
import { isDigest } from './image-ref';
import { globProblem, POLICY_LIMITS } from './policy-bounds';
import { nestedQuantifier } from './regex-safety';
import { SEVERITIES } from './severity';
import { IDENTITY_RULES } from './signed-identity';

/** The policy file's grammar (DESIGN §4). Unknown keys are errors: a typo must not pass. */
const severity = z.enum(SEVERITIES.filter((s) => s !== 'UNDEFINED') as [string, ...string[]], {
  error: `expected one of ${SEVERITIES.filter((s) => s !== 'UNDEFINED').join(', ')}`,
});
const duration = z
  .string({ error: 'expected a duration such as 7d or 24h' })
  .refine(isDuration, { error: 'expected a duration such as 7d, 24h, 30m' });

const block = z.strictObject({
  severity: severity.optional(),
  onlyFixable: z.boolean().optional(),
  maxCvss: z.number().min(0).max(10).optional(),
  /** Block findings known to be exploited (scanner exploit data, or the KEV catalog). */
  exploited: z.boolean().optional(),
  /** Block findings whose EPSS score (probability of exploitation in 30 days) is at least this. */
  epss: z.number().min(0).max(1).optional(),
});

/** Grace is keyed by severity, or by the exploitability class that blocks the finding. */
export const GRACE_CLASSES = ['exploited', 'epss'] as const;
const graceKey = z.enum(
  [...SEVERITIES.filter((s) => s !== 'UNDEFINED'), ...GRACE_CLASSES] as unknown as [
    string,
    ...string[],
  ],
  {
    error: `expected one of ${[...SEVERITIES.filter((s) => s !== 'UNDEFINED'), ...GRACE_CLASSES].join(', ')}`,
  },
);

/** A glob, bounded in length and wildcards (policy-bounds). */
const glob = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const problem = globProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const publicKey = z.string().refine((pem) => pem.includes('-----BEGIN PUBLIC KEY-----'), {
  error: 'expected a PEM public key (-----BEGIN PUBLIC KEY-----)',
});
const key = z
  .strictObject({
    name: z.string().min(1),
    publicKey: publicKey.optional(),
    kms: z
      .string()
      .regex(/^(awskms:\/\/\/)?arn:aws[a-z-]*:kms:/, { error: 'expected a KMS key ARN' })
      .optional(),
  })
  .refine((k) => (k.publicKey === undefined) !== (k.kms === undefined), {
    error: 'give exactly one of publicKey or kms',
  });
const keyless = z
  .strictObject({
    issuer: z.url(),
    subject: glob.optional(),
    subjectRegExp: z.string().min(1).optional(),
  })
  .refine((k) => (k.subject === undefined) !== (k.subjectRegExp === undefined), {
    error: 'give exactly one of subject (a glob) or subjectRegExp',
  })
  .refine(
    (k) => {
      if (k.subjectRegExp === undefined) return true;
      try {
        new RegExp(k.subjectRegExp);
        return true;
      } catch {
        return false;
      }
    },
    { error: 'subjectRegExp is not a valid regular expression' },
  )
  .superRefine((k, ctx) => {
    const unsafe = k.subjectRegExp === undefined ? undefined : nestedQuantifier(k.subjectRegExp);
    if (unsafe) {
      ctx.addIssue({
        code: 'custom',
        path: ['subjectRegExp'],
        message: `subjectRegExp is open to catastrophic backtracking: ${unsafe}; repeat one character class instead (e.g. [a-z0-9.-]+ rather than ([a-z0-9-]+\\.)+)`,
      });
    }
  });
const signatures = z.strictObject({
  required: z.boolean().optional(),
  keys: z
    .array(key)
    .max(POLICY_LIMITS.maxKeysPerRule, {
      error: (issue) =>
        `${(issue.input as unknown[]).length} keys, over the ${POLICY_LIMITS.maxKeysPerRule} a signature rule may trust: a signature without a key hint is tried against each`,
    })
    .optional(),
  keyless: z.array(keyless).optional(),
  identity: z.enum(IDENTITY_RULES).optional(),
});

/** A repository's settings, by section: policy.ts merges a rule over the defaults section by section. */
export const SETTINGS_SECTIONS = {
  block: block.optional(),
  unscanned: z.enum(['deny', 'warn', 'allow']).optional(),
  maxScanAge: duration.optional(),
  grace: z.partialRecord(graceKey, duration).optional(),
  signatures: signatures.optional(),
};
const settings = SETTINGS_SECTIONS;

/**
 * The registry a rule is narrowed to: a host[:port] or a glob of hosts. Its own field, not
 * a host prefix in `match`: an ECR repository name may itself contain dots.
 */
const registryGlob = glob.refine((value) => !value.includes('/'), {
  error:
    'expected a registry host such as ghcr.io or localhost:5000 (an ECR registry: its account host), without a path: the repository goes in match',
});

const rule = z.strictObject({
  match: z.union([glob, z.array(glob).min(1)]),
  /** Absent: the rule matches its repositories in every registry the watcher sees. */
  registry: z.union([registryGlob, z.array(registryGlob).min(1)]).optional(),
  ...settings,
});

const dateOrTime = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: 'expected a date (2027-01-31) or an ISO 8601 date-time',
});
const exception = z
  .strictObject({
    id: z.string().min(1),
    repositories: z.array(glob).min(1).optional(),
    digests: z
      .array(z.string().refine(isDigest, { error: 'expected sha256:<64 hex>' }))
      .min(1)
      .optional(),
    expires: dateOrTime,
    owner: z.string().min(1),
    reason: z.string().min(1),
  })
  .refine((e) => e.repositories !== undefined || e.digests !== undefined, {
    error: 'an exception must be scoped: give repositories or digests',
  });

/** A DNS-style group, as Kubernetes and Kyverno spell theirs. */
export const POLICY_API_VERSION = 'registry-watcher.io/v1' as const;
/** Still read, with a deprecation warning; also what the policy hash is computed under. */
export const LEGACY_POLICY_API_VERSION = 'registry-watcher/v1' as const;

type KeyDocument = z.infer<typeof key>;

export const policyDocumentSchema = z
  .strictObject({
    apiVersion: z.enum([POLICY_API_VERSION, LEGACY_POLICY_API_VERSION]),
    kind: z.literal('Policy'),
    defaults: z.strictObject(settings).optional(),
    repositories: z.array(rule).optional(),
    exceptions: z.array(exception).optional(),
  })
  .superRefine((doc, ctx) => {
    const lists: KeyDocument[][] = [
      doc.defaults?.signatures?.keys ?? [],
      ...(doc.repositories ?? []).map((r) => r.signatures?.keys ?? []),
    ];
    const distinct = new Set(lists.flat().map((k) => k.publicKey ?? `kms ${k.kms}`));
    if (distinct.size > POLICY_LIMITS.maxKeys) {
      ctx.addIssue({
        code: 'custom',
        path: ['repositories'],
        message: `${distinct.size} distinct signature keys in the policy, over ${POLICY_LIMITS.maxKeys}: the verifier keeps that many parsed; share keys between rules`,
      });
    }
  });

export type PolicyDocument = z.infer<typeof policyDocumentSchema>;
export type RuleDocument = z.infer<typeof rule>;
export type SettingsDocument = Omit<RuleDocument, 'match' | 'registry'>;
