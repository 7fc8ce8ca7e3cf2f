import { createPublicKey } from 'node:crypto';
import { isDuration } from '../../shared/domain/duration';
import { ConfigError } from '../../shared/domain/errors';
import { canonicalRegistry } from '../../shared/domain/image-ref';
import { VERDICTS, type VerdictValue } from '../../shared/domain/verdict';

export const KYVERNO_KINDS = ['ImageValidatingPolicy', 'ClusterPolicy'] as const;
export type KyvernoKind = (typeof KYVERNO_KINDS)[number];

export interface KyvernoPolicyOptions {
  /** PEM public key of the attestation key (stack output AttestationPublicKeyCommand), never the allowlist key. */
  publicKeyPem: string;
  /** Image reference globs, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/*`. */
  repositories: string[];
  /** `ImageValidatingPolicy` (Kyverno ≥ 1.17, the default) or `ClusterPolicy` (older Kyverno). */
  kind?: KyvernoKind;
  name?: string;
  /** Verdicts that admit (default PASS and WARN, as the allowlist does). */
  verdicts?: string[];
  /** Oldest evaluation accepted; the watcher re-attests daily, so 48h tolerates one miss. */
  maxAge?: string;
  failureAction?: 'Enforce' | 'Audit';
}

/** What both policy kinds are built from, checked once. */
export interface CheckedOptions {
  publicKeyPem: string;
  imageGlobs: string[];
  name: string;
  verdicts: VerdictValue[];
  maxAge: string;
  audit: boolean;
}

export function checkOptions(options: KyvernoPolicyOptions): CheckedOptions {
  if (options.repositories.length === 0) {
    throw new ConfigError('name at least one repository glob (--repositories)');
  }
  const maxAge = options.maxAge ?? '48h';
  if (!isDuration(maxAge) || maxAge.endsWith('d')) {
    throw new ConfigError(
      `--max-age ${maxAge}: use hours, minutes or seconds (e.g. 48h): Kyverno durations have no days`,
    );
  }
  return {
    publicKeyPem: checkedKey(options.publicKeyPem),
    imageGlobs: options.repositories.map(canonicalGlob),
    name: options.name ?? 'registry-watcher-verdicts',
    verdicts: checkedVerdicts(options.verdicts ?? ['PASS', 'WARN']),
    maxAge,
    audit: options.failureAction === 'Audit',
  };
}

function checkedKey(pem: string): string {
  try {
    createPublicKey(pem);
  } catch {
    throw new ConfigError(
      '--key is not a PEM public key: use the attestation public key (the stack output AttestationPublicKeyCommand writes it)',
    );
  }
  return pem.trim();
}

/** Only known verdicts: they are written into CEL and JMESPath expressions. */
function checkedVerdicts(verdicts: string[]): VerdictValue[] {
  const known = new Set<string>(VERDICTS);
  const unknown = verdicts.filter((v) => !known.has(v));
  if (unknown.length > 0 || verdicts.length === 0) {
    throw new ConfigError(`--verdicts: use some of ${VERDICTS.join(', ')} (got ${verdicts})`);
  }
  return verdicts as VerdictValue[];
}

/** Lower-cases the registry host and drops `:443`, as the webhook does before lookups. */
function canonicalGlob(glob: string): string {
  const slash = glob.indexOf('/');
  const host = slash > 0 ? glob.slice(0, slash) : '';
  if (!host.includes('.') && !host.includes(':') && host !== 'localhost') {
    throw new ConfigError(
      `repository glob "${glob}" must start with a registry host (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/*)`,
    );
  }
  return `${canonicalRegistry(host)}${glob.slice(slash)}`;
}
