import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Signer } from '../../ports';

/** ECDSA P-256 signer on a local PKCS#8 PEM key: for `npm start`, tests and air-gapped use. */
export class FileSigner implements Signer {
  private readonly privateKey: KeyObject;
  private readonly pem: string;

  constructor(privateKeyPem: string) {
    this.privateKey = createPrivateKey(privateKeyPem);
    this.pem = createPublicKey(this.privateKey).export({ type: 'spki', format: 'pem' }).toString();
  }

  /** Loads the key at `path`, generating a new P-256 key there on first use. */
  static loadOrCreate(path: string): FileSigner {
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, generatePrivateKeyPem(), { mode: 0o600 });
    }
    return new FileSigner(readFileSync(path, 'utf8'));
  }

  async sign(data: Buffer): Promise<Buffer> {
    return sign('sha256', data, { key: this.privateKey, dsaEncoding: 'der' });
  }

  async publicKeyPem(): Promise<string> {
    return this.pem;
  }
}

export function generatePrivateKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
