import { readFileSync } from 'node:fs';
import { RegistryWatcherError } from '../shared/domain/errors';

/** Where commands write; tests pass their own to capture output. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** A failure the user can fix: printed without a stack trace, exit code 1. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
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

/** Our named errors are user-facing; anything else is a bug and keeps its stack. */
export function userMessage(error: unknown): string | undefined {
  if (error instanceof CliFailure || error instanceof RegistryWatcherError) return error.message;
  return undefined;
}
