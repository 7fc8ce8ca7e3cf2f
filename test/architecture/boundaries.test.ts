/**
 * The layout's boundaries (docs/architecture.md), checked on the real import graph, in the
 * spirit of sigstore policy-controller's depcheck. Type-only imports count: a type from a
 * service inside an adapter is the same coupling as a value.
 */
import {
  type ImportEdge,
  importCycles,
  moduleGraph,
  readModule,
  type SourceModule,
} from '../../scripts/module-graph';

const graph = moduleGraph();

/** What the pure domain may import besides its own files: no SDK, no I/O, no framework. */
const DOMAIN_PACKAGES = ['zod', 'yaml', 'node:crypto'];

interface Boundary {
  name: string;
  /** The files the boundary holds for. */
  applies: (file: string) => boolean;
  /** Why the import crosses the boundary, or undefined when it does not. */
  crosses: (edge: ImportEdge) => string | undefined;
}

const under =
  (...folders: string[]) =>
  (file: string | undefined) =>
    file !== undefined && folders.some((folder) => file.startsWith(folder));

const BOUNDARIES: Boundary[] = [
  {
    name: 'the domain imports only the domain and pure packages (no adapter, service, SDK or I/O)',
    applies: under('shared/domain/'),
    crosses: (edge) =>
      edge.file !== undefined
        ? under('shared/domain/')(edge.file)
          ? undefined
          : `${edge.file} is outside shared/domain`
        : DOMAIN_PACKAGES.includes(edge.module ?? '')
          ? undefined
          : `${edge.module} is not one of ${DOMAIN_PACKAGES.join(', ')}`,
  },
  {
    name: 'adapters import no services and no composition root',
    applies: under('shared/adapters/'),
    crosses: (edge) =>
      under('shared/services/', 'shared/composition/')(edge.file) ? `${edge.file}` : undefined,
  },
  {
    name: 'shared/ (the composition roots aside) imports no composition root and no entry point',
    applies: (file) => under('shared/')(file) && !under('shared/composition/')(file),
    crosses: (edge) =>
      under('shared/composition/', 'functions/', 'cli/', 'cluster/', 'infra/', 'bench/')(edge.file)
        ? `${edge.file}`
        : undefined,
  },
  {
    name: 'cli/ imports nothing from functions/',
    applies: under('cli/'),
    crosses: (edge) => (under('functions/')(edge.file) ? `${edge.file}` : undefined),
  },
  {
    name: 'cluster/ imports nothing from cli/ or functions/',
    applies: under('cluster/'),
    crosses: (edge) => (under('cli/', 'functions/')(edge.file) ? `${edge.file}` : undefined),
  },
];

function crossings(boundary: Boundary, modules: Iterable<SourceModule>): string[] {
  const found: string[] = [];
  for (const module of modules) {
    if (!boundary.applies(module.file)) continue;
    for (const edge of module.imports) {
      const why = boundary.crosses(edge);
      if (why) found.push(`${module.file}:${edge.line} imports '${edge.specifier}': ${why}`);
    }
  }
  return found;
}

describe('the import graph', () => {
  it('THEN it is read from every source folder, with resolved files and packages', () => {
    for (const folder of ['shared/domain/', 'shared/adapters/', 'functions/', 'cli/', 'cluster/']) {
      expect([...graph.keys()].filter((f) => f.startsWith(folder)).length).toBeGreaterThan(2);
    }
    const evaluateRoot = graph.get('shared/composition/evaluate.ts');
    expect(evaluateRoot?.imports.some((e) => e.module === 'zod')).toBe(true);
    expect(evaluateRoot?.imports.some((e) => e.file?.startsWith('shared/'))).toBe(true);
  });

  it('THEN every import form counts: type-only, re-export, import(), require()', () => {
    const module = readModule(
      'shared/domain/example.ts',
      [
        "import type { RescanRunOptions } from '../services/rescan-run';",
        "export { awsClient } from '../adapters/aws/clients';",
        "export * from '../ports';",
        "const lazy = () => import('node:fs');",
        "const sdk = require('@aws-sdk/client-sqs');",
        "import { x } from './glob';",
      ].join('\n'),
      // Resolution only needs the module settings; the graph's own are the same.
      { module: 100, moduleResolution: 3 },
    );
    const [domain] = BOUNDARIES;
    expect(crossings(domain as Boundary, [module])).toEqual([
      "shared/domain/example.ts:1 imports '../services/rescan-run': shared/services/rescan-run.ts is outside shared/domain",
      "shared/domain/example.ts:2 imports '../adapters/aws/clients': shared/adapters/aws/clients.ts is outside shared/domain",
      "shared/domain/example.ts:3 imports '../ports': shared/ports/index.ts is outside shared/domain",
      "shared/domain/example.ts:4 imports 'node:fs': node:fs is not one of zod, yaml, node:crypto",
      "shared/domain/example.ts:5 imports '@aws-sdk/client-sqs': @aws-sdk/client-sqs is not one of zod, yaml, node:crypto",
    ]);
  });

  it('THEN no files import each other, round any loop (type-only imports included)', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('THEN a loop is found when there is one', () => {
    const options = { module: 100, moduleResolution: 3 };
    const loop = new Map(
      [
        readModule('cluster/webhook/decide.ts', "import type { X } from './messages';", options),
        readModule('cluster/webhook/messages.ts', "import { y } from './decide';", options),
        readModule('cluster/webhook/admit.ts', "import { y } from './decide';", options),
      ].map((m) => [m.file, m]),
    );
    expect(importCycles(loop)).toEqual([
      ['cluster/webhook/decide.ts', 'cluster/webhook/messages.ts'],
    ]);
  });

  it.each(BOUNDARIES.map((b) => [b.name, b] as const))('THEN %s', (_name, boundary) => {
    expect(crossings(boundary, graph.values())).toEqual([]);
  });
});
