/**
 * The project's import graph, read with the TypeScript compiler API (the same parse tsc
 * does, so `import type`, `export … from`, `import()` and `require()` all count). Used by
 * the boundary guards (test/architecture) and the dead-export check (scripts/dead-exports.ts).
 */
import { join, relative } from 'node:path';
import * as ts from 'typescript';

export const ROOT = join(__dirname, '..');

export interface ImportEdge {
  /** As written: `../ports`, `@aws-sdk/client-sqs`, `node:fs`. */
  specifier: string;
  /** Repository-relative path of the file it resolves to, for the project's own files. */
  file?: string;
  /** Package name (`@aws-sdk/client-sqs`, `zod`) or built-in (`node:fs`) otherwise. */
  module?: string;
  /** Names imported; `*` for a namespace import, `export *`, `import()` or `require()`. */
  names: string[] | '*';
  /** The names imported as values (`import type`, `{ type X }` and `import('x').T` left out). */
  values: string[] | '*';
  line: number;
}

export interface SourceModule {
  /** Repository-relative path, `/`-separated. */
  file: string;
  imports: ImportEdge[];
  /** Names this file exports (declarations and `export { … }`), `default` included. */
  exports: string[];
}

function compilerSetup(): { options: ts.CompilerOptions; files: string[] } {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!config) throw new Error('tsconfig.json could not be read');
  return { options: config.options, files: config.fileNames };
}

const BUILTINS = new Set(require('node:module').builtinModules as string[]);

function moduleName(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
  return BUILTINS.has(name) ? `node:${name}` : name;
}

function hasExportModifier(node: ts.Node): boolean {
  return (
    ts.canHaveModifiers(node) &&
    (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
  );
}

function declaredNames(node: ts.Node): string[] {
  const isDefault =
    ts.canHaveModifiers(node) &&
    (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
  if (isDefault) return ['default'];
  if (ts.isVariableStatement(node)) {
    return node.declarationList.declarations.flatMap((d) =>
      ts.isIdentifier(d.name) ? [d.name.text] : [],
    );
  }
  const named = node as ts.Node & { name?: ts.Node };
  return named.name && ts.isIdentifier(named.name) ? [named.name.text] : [];
}

/** Parses one file's imports and exports. */
export function readModule(file: string, text: string, options: ts.CompilerOptions): SourceModule {
  const absolute = join(ROOT, file);
  const source = ts.createSourceFile(absolute, text, ts.ScriptTarget.Latest, true);
  const imports: ImportEdge[] = [];
  const exports: string[] = [];
  const edge = (
    node: ts.Node,
    specifier: string,
    names: string[] | '*',
    values: string[] | '*' = names,
  ) => {
    const resolved = ts.resolveModuleName(specifier, absolute, options, ts.sys).resolvedModule;
    const own =
      resolved &&
      !resolved.isExternalLibraryImport &&
      !resolved.resolvedFileName.includes('/node_modules/');
    imports.push({
      specifier,
      ...(own
        ? { file: relative(ROOT, resolved.resolvedFileName).split('\\').join('/') }
        : { module: moduleName(specifier) }),
      names,
      values,
      line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1,
    });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const names: string[] | '*' =
        bindings && ts.isNamespaceImport(bindings)
          ? '*'
          : [
              ...(clause?.name ? ['default'] : []),
              ...(bindings && ts.isNamedImports(bindings)
                ? bindings.elements.map((e) => (e.propertyName ?? e.name).text)
                : []),
            ];
      const values: string[] | '*' = clause?.isTypeOnly
        ? []
        : names === '*'
          ? '*'
          : [
              ...(clause?.name ? ['default'] : []),
              ...(bindings && ts.isNamedImports(bindings)
                ? bindings.elements
                    .filter((e) => !e.isTypeOnly)
                    .map((e) => (e.propertyName ?? e.name).text)
                : []),
            ];
      edge(node, node.moduleSpecifier.text, names, values);
    } else if (ts.isExportDeclaration(node)) {
      const clause = node.exportClause;
      if (node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const named = clause && ts.isNamedExports(clause) ? clause.elements : undefined;
        edge(
          node,
          node.moduleSpecifier.text,
          named ? named.map((e) => (e.propertyName ?? e.name).text) : '*',
          node.isTypeOnly
            ? []
            : named
              ? named.filter((e) => !e.isTypeOnly).map((e) => (e.propertyName ?? e.name).text)
              : '*',
        );
      }
      if (clause && ts.isNamedExports(clause))
        exports.push(...clause.elements.map((e) => e.name.text));
      else if (clause && ts.isNamespaceExport(clause)) exports.push(clause.name.text);
    } else if (ts.isExportAssignment(node)) {
      exports.push('default');
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      edge(node, node.moduleReference.expression.text, '*', node.isTypeOnly ? [] : '*');
    } else if (ts.isCallExpression(node)) {
      const [first] = node.arguments;
      const callee = node.expression;
      const dynamic =
        callee.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(callee) && callee.text === 'require');
      if (dynamic && first && ts.isStringLiteralLike(first)) edge(node, first.text, '*');
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      edge(node, node.argument.literal.text, '*', []);
    }
    if (node.parent === source && hasExportModifier(node)) exports.push(...declaredNames(node));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { file, imports, exports };
}

/** Every TypeScript file tsconfig.json includes, parsed. */
export function moduleGraph(): Map<string, SourceModule> {
  const { options, files } = compilerSetup();
  const graph = new Map<string, SourceModule>();
  for (const absolute of files) {
    if (!absolute.endsWith('.ts')) continue;
    const file = relative(ROOT, absolute).split('\\').join('/');
    const text = ts.sys.readFile(absolute);
    if (text === undefined) throw new Error(`cannot read ${file}`);
    graph.set(file, readModule(file, text, options));
  }
  return graph;
}

/** Groups of files that import each other, directly or round a loop (Tarjan's algorithm). */
export function importCycles(graph: Map<string, SourceModule>): string[][] {
  let counter = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    const own = counter++;
    order.set(file, own);
    low.set(file, own);
    stack.push(file);
    for (const edge of graph.get(file)?.imports ?? []) {
      const next = edge.file;
      if (next === undefined || !graph.has(next)) continue;
      if (!order.has(next)) visit(next);
      if (stack.includes(next)) {
        low.set(file, Math.min(low.get(file) ?? own, low.get(next) ?? own));
      }
    }
    if (low.get(file) !== own) return;
    const group = stack.splice(stack.indexOf(file));
    if (group.length > 1 || graph.get(file)?.imports.some((e) => e.file === file)) {
      cycles.push(group.sort());
    }
  };
  for (const file of graph.keys()) if (!order.has(file)) visit(file);
  return cycles;
}
