import { open, stat } from 'node:fs/promises';
import { InvalidFindingsError } from '../../domain/errors';
import { KEV_LIMITS, parseKnownExploited } from '../../domain/known-exploited';
import type { KnownExploitedCatalog, KnownExploitedVersion } from '../../ports';

/** The KEV catalog from a file (bundled with the function, or `npm start`'s). */
export class FileKnownExploited implements KnownExploitedCatalog {
  constructor(
    private readonly path: string,
    private readonly maxBytes = KEV_LIMITS.maxBytes,
  ) {}

  async load(tag?: string): Promise<KnownExploitedVersion | 'unchanged'> {
    // Checked before open: opening a FIFO blocks until a writer comes, and it may never end.
    if (!(await stat(this.path)).isFile()) {
      throw new InvalidFindingsError(`KEV catalog ${this.path} is not a regular file`);
    }
    const handle = await open(this.path, 'r');
    try {
      const stat = await handle.stat();
      const current = `${stat.size}:${stat.mtimeMs}`;
      if (tag === current) return 'unchanged';
      if (stat.size > this.maxBytes) {
        throw new InvalidFindingsError(
          `KEV catalog ${this.path} is ${stat.size} bytes, over the ${this.maxBytes} allowed`,
        );
      }
      // Read at most one byte past the cap: a file that grew since stat is caught too.
      const buffer = Buffer.alloc(Math.min(stat.size, this.maxBytes) + 1);
      let length = 0;
      while (length < buffer.length) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > this.maxBytes) {
        throw new InvalidFindingsError(
          `KEV catalog ${this.path} is over the ${this.maxBytes} bytes allowed`,
        );
      }
      const text = buffer.subarray(0, length).toString('utf8');
      return { catalog: parseKnownExploited(text, this.path), tag: current };
    } finally {
      await handle.close();
    }
  }
}
