// The CLI's own helpers beside the command-line basics it shares with cluster/.
import { readFileSync, statSync } from 'node:fs';
import { CliFailure, readText } from '../shared/command-line/io';

export { CliFailure, type CliIo, processIo, readText, runProgram } from '../shared/command-line/io';

/** A regular file of at most `maxBytes`, checked before reading (a FIFO or /dev/zero never ends). */
export function readBytes(file: string, maxBytes: number): Buffer {
  try {
    const info = statSync(file);
    if (!info.isFile()) throw new CliFailure(`cannot read ${file}: not a regular file`);
    if (info.size > maxBytes) {
      throw new CliFailure(`${file} is ${info.size} bytes, over the ${maxBytes} it may have`);
    }
    return readFileSync(file);
  } catch (error) {
    if (error instanceof CliFailure) throw error;
    throw new CliFailure(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

export function readJson(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliFailure(`${file} is not JSON: ${(error as Error).message}`);
  }
}

/** An ISO 8601 instant given on the command line. */
export function instantFlag(value: string, flag: string): () => Date {
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    throw new CliFailure(`${flag} ${value} is not an ISO 8601 time`, 2);
  return () => at;
}
