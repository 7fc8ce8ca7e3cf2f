import { readFile } from 'node:fs/promises';
import type { Server } from 'node:https';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../../shared/domain/errors';
import type { Log } from '../../shared/ports';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/** Reads the pair and checks that the key matches the certificate. */
export async function readTls(files: TlsFiles): Promise<TlsMaterial> {
  return usable(files, await readPair(files));
}

async function readPair(files: TlsFiles): Promise<TlsMaterial> {
  try {
    const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
    return { cert, key };
  } catch (error) {
    throw new ConfigError(`cannot read the TLS certificate or key: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function usable(files: TlsFiles, material: TlsMaterial): TlsMaterial {
  try {
    createSecureContext(material);
  } catch (error) {
    throw new ConfigError(
      `${files.certFile} and ${files.keyFile} are not a matching PEM certificate and key: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return material;
}

/**
 * Polls the files and swaps the server's certificate when they change. Polling, not
 * fs.watch: Kubernetes updates Secret volumes by swapping a `..data` symlink, which watches
 * on the file paths miss. A half-written or mismatched pair is skipped until the next poll.
 */
export function watchTls(
  server: Server,
  files: TlsFiles,
  initial: TlsMaterial,
  options: { intervalMs: number; log: Log; onReload?: (result: 'reloaded' | 'failed') => void },
): { check(): Promise<boolean>; stop(): void } {
  let current = initial;
  let busy = false;
  const check = async (): Promise<boolean> => {
    let next: TlsMaterial;
    try {
      next = await readPair(files);
      if (next.cert.equals(current.cert) && next.key.equals(current.key)) return false;
      usable(files, next);
    } catch (error) {
      options.log.warn(
        'TLS files changed but cannot be used yet; keeping the current certificate',
        {
          error: (error as Error).message,
        },
      );
      options.onReload?.('failed');
      return false;
    }
    server.setSecureContext(next);
    current = next;
    options.log.info('TLS certificate reloaded', { certFile: files.certFile });
    options.onReload?.('reloaded');
    return true;
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void check().finally(() => {
      busy = false;
    });
  }, options.intervalMs);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
