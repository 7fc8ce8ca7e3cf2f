import { readFileSync } from 'node:fs';
import { ConfigError } from './domain/errors';
import { canonicalJson, type Policy } from './domain/policy';
import { readPolicyBytes } from './domain/policy-yaml';

/**
 * A policy file (YAML) read from disk: what the CLI, `npm start` and infra at synth load.
 * The functions never do: they get `json`, rendered here at synth (shared/config.ts).
 */
export function loadPolicyFile(file: string): Policy {
  return readPolicyFile(file).policy;
}

/**
 * The policy and the JSON the functions read: the validated document as canonical JSON
 * (sorted keys, no comments or formatting), so the same policy renders the same bytes and
 * the functions compute the same hash from it.
 */
export function readPolicyFile(file: string): { policy: Policy; json: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new ConfigError(`cannot read policy file ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const { policy, document } = readPolicyBytes(bytes, file);
  return { policy, json: canonicalJson(document) };
}
