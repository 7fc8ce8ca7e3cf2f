import { createHash, createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { UpstreamError } from '../../domain/errors';
import type { Signer } from '../../ports';
import { withRetry } from '../../retry';
import { sharedClient } from './clients';

/**
 * Signs with an asymmetric KMS key (ECC_NIST_P256, ECDSA_SHA_256). The digest is computed
 * here and sent with MessageType DIGEST, so payloads of any size stay in the function.
 */
export class KmsSigner implements Signer {
  private publicKey?: Promise<string>;

  constructor(
    private readonly keyId: string,
    private readonly client: KMSClient = sharedClient(KMSClient),
  ) {}

  async sign(data: Buffer): Promise<Buffer> {
    const out = await withRetry(() =>
      this.client.send(
        new SignCommand({
          KeyId: this.keyId,
          Message: createHash('sha256').update(data).digest(),
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      ),
    );
    if (!out.Signature)
      throw new UpstreamError(
        'UPSTREAM_FAILURE',
        `KMS Sign returned no signature for ${this.keyId}`,
      );
    return Buffer.from(out.Signature);
  }

  /** Fetched once per container: the key never changes under the same id. */
  publicKeyPem(): Promise<string> {
    this.publicKey ??= withRetry(() =>
      this.client.send(new GetPublicKeyCommand({ KeyId: this.keyId })),
    )
      .then((out) => {
        if (!out.PublicKey)
          throw new UpstreamError(
            'UPSTREAM_FAILURE',
            `KMS GetPublicKey returned no key for ${this.keyId}`,
          );
        return createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' })
          .export({ type: 'spki', format: 'pem' })
          .toString();
      })
      .catch((error) => {
        this.publicKey = undefined;
        throw error;
      });
    return this.publicKey;
  }
}
