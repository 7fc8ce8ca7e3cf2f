/**
 * Dead-code check of `npm run lint`: an export that no other file imports and its own file
 * never mentions again is dead code. (One its own file uses is an `export` keyword too many,
 * often an options type of a public constructor: `--all` lists those too.) Entry points,
 * loaded by name from outside the graph, are the roots. Namespace imports, `export *`,
 * `import()` and `require()` count as using every export of their target.
 *
 *   tsx scripts/dead-exports.ts [--all]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import { moduleGraph, ROOT } from './module-graph';

/** Exports loaded by name from outside the import graph. */
const ENTRY_POINTS: [RegExp, string][] = [
  [/^functions\/[^/]+\/handler\.ts$/, 'handler'],
  [/^bench\/[^/]+\.ts$/, 'run'],
  // The package's entry point (construct/package.json): every export is its public API.
  [/^infra\/index\.ts$/, '*'],
];

/** How often each identifier occurs in a file (its declaration included). */
function identifierCounts(file: string): Map<string, number> {
  const source = ts.createSourceFile(
    file,
    readFileSync(join(ROOT, file), 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const counts = new Map<string, number>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) counts.set(node.text, (counts.get(node.text) ?? 0) + 1);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return counts;
}

/** Unimported exports; with `all` false, only those their own file never uses either. */
export function deadExports(all = false): string[] {
  const graph = moduleGraph();
  const used = new Map<string, Set<string> | '*'>();
  for (const module of graph.values()) {
    for (const edge of module.imports) {
      if (!edge.file) continue;
      const seen = used.get(edge.file);
      if (edge.names === '*' || seen === '*') used.set(edge.file, '*');
      else used.set(edge.file, new Set([...(seen ?? []), ...edge.names]));
    }
  }
  const dead: string[] = [];
  for (const module of graph.values()) {
    // Tests are not shipped; ambient declarations (types/) name modules, not exports.
    if (module.file.startsWith('test/') || module.file.endsWith('.d.ts')) continue;
    const names = used.get(module.file);
    if (names === '*') continue;
    const counts = all ? undefined : identifierCounts(module.file);
    for (const name of module.exports) {
      if (counts && (counts.get(name) ?? 0) > 1) continue;
      if (names?.has(name)) continue;
      if (
        ENTRY_POINTS.some(
          ([file, entry]) => file.test(module.file) && (entry === name || entry === '*'),
        )
      )
        continue;
      dead.push(`${module.file}: ${name}`);
    }
  }
  return dead.sort();
}

if (require.main === module) {
  const all = process.argv.includes('--all');
  const dead = deadExports(all);
  if (dead.length > 0) {
    console.error(
      `${dead.length} export(s) no file imports${all ? '' : ' and their own file never uses'}: delete them${all ? ', or drop the `export`' : ''}:\n  ${dead.join('\n  ')}`,
    );
    process.exitCode = 1;
  }
}
