import { readFile } from 'node:fs/promises';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { ConfigError } from '../../domain/errors';
import type { SignatureKey } from '../../domain/policy';
import type { TrustedKey } from './verify';

/**
 * Turns the policy's keys (PEM or `kms: <key id/arn>`) into PEM keys, KMS keys fetched once.
 * The KMS client loads on the first `kms:` key: a policy without one never reads it (since
 * the attestor split evaluate signs nothing, so nothing else in it needs KMS).
 */
export class KeyResolver {
  private readonly kms = new Map<string, Promise<{ publicKeyPem(): Promise<string> }>>();

  constructor(private readonly kmsClient?: KMSClient) {}

  resolve(keys: SignatureKey[]): Promise<TrustedKey[]> {
    return Promise.all(
      keys.map(async (key) => {
        if (key.publicKey) return { name: key.name, publicKeyPem: key.publicKey };
        if (!key.kms)
          throw new ConfigError(`signature key "${key.name}" has neither publicKey nor kms`);
        const id = key.kms;
        let signer = this.kms.get(id);
        if (!signer) {
          signer = import('../aws/kms-signer.js').then(
            ({ KmsSigner }) => new KmsSigner(id, this.kmsClient),
          );
          this.kms.set(id, signer);
        }
        return { name: key.name, publicKeyPem: await (await signer).publicKeyPem() };
      }),
    );
  }
}

/** Parses a sigstore trusted root (trusted_root.json) and checks it can verify anything. */
export function parseTrustedRoot(json: unknown, source = 'trusted root'): TrustedRoot {
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(json);
  } catch (error) {
    throw new ConfigError(`${source} is not a sigstore trusted root: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (root.certificateAuthorities.length === 0 || root.tlogs.length === 0) {
    throw new ConfigError(
      `${source} has no certificate authority or no transparency log: keyless verification needs both`,
    );
  }
  return root;
}

export type TrustedRootSource = () => Promise<TrustedRoot>;

/**
 * A trusted root from a file or `s3://bucket/key`, read at most once per `refreshMs`
 * (default 1 h) and kept when a refresh fails: never fetched from TUF on the request path.
 */
export function trustedRootSource(
  location: string,
  options: { s3?: S3Client; refreshMs?: number; now?: () => number } = {},
): TrustedRootSource {
  const { refreshMs = 3_600_000, now = Date.now } = options;
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  const read = async (): Promise<TrustedRoot> => {
    let text: string;
    try {
      if (s3) {
        // Loaded only for an s3:// root: a bundled root never needs the S3 client, so the
        // Lambda bundle keeps it in a chunk of its own (node16 import() needs the extension).
        const { readS3ObjectText } = await import('../aws/s3-object-text.js');
        text = await readS3ObjectText(s3[1] ?? '', s3[2] ?? '', options.s3);
      } else {
        text = await readFile(location, 'utf8');
      }
    } catch (error) {
      throw new ConfigError(
        `cannot read the trusted root at ${location}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`the trusted root at ${location} is not JSON`, { cause: error });
    }
    return parseTrustedRoot(json, location);
  };
  let cached: { root: TrustedRoot; at: number } | undefined;
  let pending: Promise<TrustedRoot> | undefined;
  return async () => {
    if (cached && now() - cached.at < refreshMs) return cached.root;
    pending ??= read()
      .then((root) => {
        cached = { root, at: now() };
        return root;
      })
      .catch((error) => {
        if (cached) return cached.root; // fail static: keep the last good root
        throw error;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}
