import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../../scripts/module-graph';

/**
 * Every error the watcher throws is a RegistryWatcherError with a typed `code` (callers
 * branch on the code, the CLI prints the message without a stack): a class that extends
 * Error or one of its built-in subclasses directly fails here.
 */
const SOURCES = ['shared', 'functions', 'cli', 'cluster', 'infra', 'bench', 'scripts'];
const DIRECT =
  /\bclass\s+(\w+)(?:<[^>]*>)?\s+extends\s+(?:Error|TypeError|RangeError|SyntaxError)\b/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function directErrorClasses(source: string): string[] {
  return [...source.matchAll(DIRECT)].map((m) => m[1] as string);
}

it('finds a class that extends Error directly (the check itself can fail)', () => {
  expect(
    directErrorClasses('export class Oops extends Error {}\nclass Fine extends Base {}'),
  ).toEqual(['Oops']);
  expect(directErrorClasses('class Narrow<T> extends TypeError {}')).toEqual(['Narrow']);
});

it('every error class extends RegistryWatcherError (only the root extends Error)', () => {
  const offenders = SOURCES.flatMap((dir) => sourceFiles(join(ROOT, dir))).flatMap((file) =>
    directErrorClasses(readFileSync(file, 'utf8'))
      .filter((name) => name !== 'RegistryWatcherError')
      .map((name) => `${relative(ROOT, file)}: ${name}`),
  );
  expect(offenders).toEqual([]);
});
