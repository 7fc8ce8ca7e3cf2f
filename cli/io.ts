// The CLI's own helpers beside the command-line basics it shares with cluster/.
import { CliFailure, readText } from '../shared/command-line/io';

export { CliFailure, type CliIo, processIo, readText, runProgram } from '../shared/command-line/io';

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
