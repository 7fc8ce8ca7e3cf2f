import { KMSClient } from '@aws-sdk/client-kms';
import { sharedClient } from '../adapters/aws/clients';
import { KmsSigner } from '../adapters/aws/kms-signer';
import { FileSigner } from '../adapters/local/file-signer';
import { registryClients, signatureEnvironment } from '../adapters/sigstore/environment';
import { RegistrySignatureVerifier } from '../adapters/sigstore/image-signatures';
import { KeyResolver, trustedRootSource } from '../adapters/sigstore/trust';
import { RegistryVerdictAttestor } from '../adapters/sigstore/verdict-attestor';
import { ConfigError } from '../domain/errors';
import type { Log, Signer } from '../ports';
import type { EvaluateImageOptions } from '../services/evaluate-image';

export type SignaturePorts = Pick<
  EvaluateImageOptions,
  'signatures' | 'attestor' | 'attestationRefresh'
>;

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
  const kms = deps.kms ?? sharedClient(KMSClient);
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
