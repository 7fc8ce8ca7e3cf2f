import type * as z from 'zod';
import { ConfigError } from './domain/errors';

/**
 * Validates an environment against its schema once at cold start, naming every problem
 * (`what`: what the message calls it). The one reader every function's settings go through.
 */
export function readEnvironmentOf<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
  what = 'function environment',
): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid ${what}: ${problems}`, { cause: parsed.error });
  }
  return parsed.data;
}
