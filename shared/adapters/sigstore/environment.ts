import { KMSClient } from '@aws-sdk/client-kms';
import * as z from 'zod';
import { isDuration } from '../../domain/duration';
import { ConfigError } from '../../domain/errors';
import { parseEcrRegistry } from '../../domain/image-ref';
import type { Log, Signer } from '../../ports';
import { RegistryVerdictAttestor } from '../../services/attest-verdict';
import type { EvaluateImageOptions } from '../../services/evaluate-image';
import { awsClient } from '../aws/clients';
import { KmsSigner } from '../aws/kms-signer';
import { FileSigner } from '../local/file-signer';
import { anonymous } from '../oci/auth';
import { RegistryClient } from '../oci/client';
import { EcrCredentials } from '../oci/ecr-auth';
import { RegistrySignatureVerifier } from './image-signatures';
import { KeyResolver, trustedRootSource } from './trust';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/**
 * The evaluate function's signature and attestation settings (docs/signatures.md),
 * exported so the CDK construct can check it wires exactly these variables.
 */
export const signatureEnvironment = z.object({
  SIGNATURES_ENABLED: flag.default(true),
  TRUSTED_ROOT: z.string().min(1).optional(),
  ATTESTATIONS_ENABLED: flag.default(false),
  ATTESTATION_KMS_KEY_ID: z.string().min(1).optional(),
  ATTESTATION_KEY_FILE: z.string().min(1).optional(),
  ATTESTATION_REFRESH: z.string().refine(isDuration, 'a duration such as 24h').default('24h'),
  REGISTRY_PLAIN_HTTP: z.string().optional(),
  WATCHER_VERSION: z.string().default('0.1.0'),
});

export type SignaturePorts = Pick<
  EvaluateImageOptions,
  'signatures' | 'attestor' | 'attestationRefresh'
>;

/** One registry client per host; ECR hosts authenticate with GetAuthorizationToken. */
export function registryClients(
  plainHttpHosts: string[] = [],
): (registry: string) => RegistryClient {
  const clients = new Map<string, RegistryClient>();
  return (registry) => {
    let client = clients.get(registry);
    if (!client) {
      client = new RegistryClient({
        registry,
        auth: parseEcrRegistry(registry) ? new EcrCredentials(registry) : anonymous,
        ...(plainHttpHosts.includes(registry) && { plainHttp: true }),
      });
      clients.set(registry, client);
    }
    return client;
  };
}

/**
 * Builds the signature verifier and verdict attestor from the environment: both optional,
 * created once per container, clients shared.
 */
export function signaturePortsFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  deps: { kms?: KMSClient; log?: Log } = {},
): SignaturePorts {
  const parsed = signatureEnvironment.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid signature settings: ${problems}`, { cause: parsed.error });
  }
  const settings = parsed.data;
  const clientFor = registryClients(
    settings.REGISTRY_PLAIN_HTTP?.split(',').map((h) => h.trim()) ?? [],
  );
  const kms = deps.kms ?? awsClient(KMSClient);
  const ports: SignaturePorts = { attestationRefresh: settings.ATTESTATION_REFRESH };
  if (settings.SIGNATURES_ENABLED) {
    ports.signatures = new RegistrySignatureVerifier({
      clientFor,
      keys: new KeyResolver(kms),
      ...(settings.TRUSTED_ROOT && { trustedRoot: trustedRootSource(settings.TRUSTED_ROOT) }),
      ...(deps.log && { log: deps.log }),
    });
  }
  if (settings.ATTESTATIONS_ENABLED) {
    let signer: Signer;
    if (settings.ATTESTATION_KMS_KEY_ID)
      signer = new KmsSigner(settings.ATTESTATION_KMS_KEY_ID, kms);
    else if (settings.ATTESTATION_KEY_FILE)
      signer = FileSigner.loadOrCreate(settings.ATTESTATION_KEY_FILE);
    else
      throw new ConfigError(
        'ATTESTATIONS_ENABLED=true needs ATTESTATION_KMS_KEY_ID (or ATTESTATION_KEY_FILE locally)',
      );
    ports.attestor = new RegistryVerdictAttestor({
      clientFor,
      signer,
      version: settings.WATCHER_VERSION,
    });
  }
  return ports;
}
