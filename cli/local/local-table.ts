import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';
import { TableUnavailableError } from '../../shared/domain/errors';

/** The table `npm start` writes and leaves behind, under its data folder. */
export const LOCAL_TABLE = 'registry-watcher-verdicts';

export interface LocalDynalite {
  endpoint: string;
  /** dynalite's LevelDB folder: `<data>/dynamodb`. */
  path: string;
  close(): Promise<void>;
}

/**
 * dynalite on loopback over `<dataDir>/dynamodb`, kept between runs: `npm start` fills it
 * (`create`), `explain`, `search` and `what-if --local` read it; without `create` a
 * missing folder is an error that says to run npm start first.
 */
export async function startLocalDynalite(dataDir: string, create = false): Promise<LocalDynalite> {
  const path = join(dataDir, 'dynamodb');
  if (create) mkdirSync(path, { recursive: true });
  else if (!existsSync(path)) {
    throw new TableUnavailableError(
      `${path} does not exist: run npm start first (it leaves its table there), or pass --data <dir> for another folder`,
    );
  }
  const server = dynalite({ path, createTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    path,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
