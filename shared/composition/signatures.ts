import type { KMSClient } from '@aws-sdk/client-kms';
import { SqsAttestationRequests } from '../adapters/aws/sqs-attestation-requests';
import { registryClients, signatureEnvironment } from '../adapters/sigstore/environment';
import { ConfigError } from '../domain/errors';
import { readEnvironmentOf } from '../environment';
import type { Log, SignatureVerifier } from '../ports';
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
    ports.signatures = loadedOnFirstUse(async () => {
      // sigstore (~95 KB of evaluate's cold start) loads with the first image whose policy
      // asks for signatures, not at cold start (docs/deploy.md, code splitting).
      const [{ RegistrySignatureVerifier }, { KeyResolver, trustedRootSource }] = await Promise.all(
        [
          import('../adapters/sigstore/image-signatures.js'),
          import('../adapters/sigstore/trust.js'),
        ],
      );
      return new RegistrySignatureVerifier({
        clientFor,
        // The KMS client is created on the first `kms:` key only (KeyResolver).
        keys: new KeyResolver(deps.kms),
        ...(settings.TRUSTED_ROOT && { trustedRoot: trustedRootSource(settings.TRUSTED_ROOT) }),
        ...(deps.log && { log: deps.log }),
      });
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

/** A verifier built on its first use, once per container (a failed build fails every use). */
function loadedOnFirstUse(build: () => Promise<SignatureVerifier>): SignatureVerifier {
  let built: Promise<SignatureVerifier> | undefined;
  return {
    async verify(image, trust) {
      built ??= build();
      return (await built).verify(image, trust);
    },
  };
}
