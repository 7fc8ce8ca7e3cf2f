import * as z from 'zod';
import { isDuration } from '../../domain/duration';
import { parseEcrRegistry } from '../../domain/image-ref';
import { anonymous } from '../oci/auth';
import { RegistryClient } from '../oci/client';
import { EcrCredentials } from '../oci/ecr-auth';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/**
 * The evaluate function's signature and attestation settings (docs/signatures.md),
 * exported so the CDK construct can check it wires exactly these variables.
 */
export const signatureEnvironment = z.object({
  SIGNATURES_ENABLED: flag.default(true),
  TRUSTED_ROOT: z.string().min(1).optional(),
  ATTESTATIONS_ENABLED: flag.default(false),
  /** The attestor's queue: evaluate asks there, it never signs or pushes itself. */
  ATTESTATION_QUEUE_URL: z.string().min(1).optional(),
  ATTESTATION_REFRESH: z.string().refine(isDuration, 'a duration such as 24h').default('24h'),
  REGISTRY_PLAIN_HTTP: z.string().optional(),
});

/**
 * The attestor function's settings (docs/signatures.md): the one holder of Sign on the
 * attestation key and of registry writes. `ATTESTED_REGISTRIES`: the registry hosts it signs
 * for, comma-separated (the stack's own ECR registry).
 */
export const attestorEnvironment = z.object({
  TABLE_NAME: z.string().min(1),
  ATTESTED_REGISTRIES: z.string().min(1),
  ATTESTATION_KMS_KEY_ID: z.string().min(1).optional(),
  ATTESTATION_KEY_FILE: z.string().min(1).optional(),
  REGISTRY_PLAIN_HTTP: z.string().optional(),
  WATCHER_VERSION: z.string().default('0.1.0'),
});

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
