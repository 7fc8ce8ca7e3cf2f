import type { KMSClient } from '@aws-sdk/client-kms';
import { SqsAttestationRequests } from '../adapters/aws/sqs-attestation-requests';
import { registryClients, signatureEnvironment } from '../adapters/sigstore/environment';
import { RegistrySignatureVerifier } from '../adapters/sigstore/image-signatures';
import { KeyResolver, trustedRootSource } from '../adapters/sigstore/trust';
import { ConfigError } from '../domain/errors';
import { readEnvironmentOf } from '../environment';
import type { Log } from '../ports';
import type { EvaluateImageOptions } from '../services/evaluate-image';

export type SignaturePorts = Pick<
  EvaluateImageOptions,
  'signatures' | 'attestor' | 'attestationRefresh'
>;

/**
 * Builds the signature verifier and the attestation requests (to the attestor's queue) from
 * the environment: both optional, created once per container, clients shared.
 */
export function signaturePortsFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  deps: { kms?: KMSClient; log?: Log } = {},
): SignaturePorts {
  const settings = readEnvironmentOf(signatureEnvironment, env, 'signature settings');
  const clientFor = registryClients(
    settings.REGISTRY_PLAIN_HTTP?.split(',').map((h) => h.trim()) ?? [],
  );
  const ports: SignaturePorts = { attestationRefresh: settings.ATTESTATION_REFRESH };
  if (settings.SIGNATURES_ENABLED) {
    ports.signatures = new RegistrySignatureVerifier({
      clientFor,
      // The KMS client is created on the first `kms:` key only (KeyResolver).
      keys: new KeyResolver(deps.kms),
      ...(settings.TRUSTED_ROOT && { trustedRoot: trustedRootSource(settings.TRUSTED_ROOT) }),
      ...(deps.log && { log: deps.log }),
    });
  }
  if (settings.ATTESTATIONS_ENABLED) {
    // Evaluate parses untrusted registry content: it asks the attestor, which alone holds
    // Sign on the attestation key and registry writes (docs/signatures.md).
    if (!settings.ATTESTATION_QUEUE_URL)
      throw new ConfigError('ATTESTATIONS_ENABLED=true needs ATTESTATION_QUEUE_URL');
    ports.attestor = new SqsAttestationRequests(settings.ATTESTATION_QUEUE_URL);
  }
  return ports;
}
