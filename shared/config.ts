import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { isDuration } from './domain/duration';
import { ConfigError, PolicyError } from './domain/errors';
import { type Policy, validatePolicy } from './domain/policy';
import { readEnvironmentOf } from './environment';

/** Environment of the Lambdas, validated once at cold start. */
/** Exported so the CDK construct can check it wires exactly these variables. */
export const environment = z.object({
  TABLE_NAME: z.string().min(3),
  POLICY_FILE: z.string().min(1).optional(),
  POLICY_JSON: z.string().min(1).optional(),
  SCANNING_MODE: z.enum(['basic', 'enhanced']).default('basic'),
  HISTORY_DAYS: z.coerce.number().int().positive().default(400),
  EVALUATE_CONCURRENCY: z.coerce.number().int().positive().default(8),
  /** The CISA KEV catalog for `block.exploited`: a file path or s3://bucket/key (docs/policy.md). */
  KEV_SOURCE: z
    .string()
    .regex(/^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+|[^:]+)$/, {
      error: 'expected a file path or s3://bucket/key',
    })
    .optional(),
  /** How long a loaded catalog is used before its source is checked again. */
  KEV_REFRESH: z
    .string()
    .refine(isDuration, { error: 'expected a duration such as 1h' })
    .default('1h'),
});
export type Environment = z.infer<typeof environment>;

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  return readEnvironmentOf(environment, env);
}

/**
 * The policy travels with the function as the JSON infra rendered from the policy file at
 * synth (already validated there, with line and column): a file bundled beside it, or
 * inline. Validated again here, without a YAML parser in the bundle.
 */
export function loadPolicy(env: Pick<Environment, 'POLICY_FILE' | 'POLICY_JSON'>): Policy {
  if (env.POLICY_JSON) return policyFromJson(env.POLICY_JSON, 'POLICY_JSON');
  if (!env.POLICY_FILE)
    throw new ConfigError('set POLICY_FILE (the bundled policy.json) or POLICY_JSON');
  let text: string;
  try {
    text = readFileSync(env.POLICY_FILE, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read policy file ${env.POLICY_FILE}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return policyFromJson(text, env.POLICY_FILE);
}

function policyFromJson(text: string, file: string): Policy {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new PolicyError(
      [
        {
          file,
          line: 1,
          column: 1,
          path: '',
          message: `not JSON (${(error as Error).message}): the functions read the JSON infra renders from the policy file at synth`,
        },
      ],
      { cause: error },
    );
  }
  return validatePolicy(data, file).policy;
}
