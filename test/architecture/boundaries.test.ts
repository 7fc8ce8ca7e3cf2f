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
  crosses: (edge: ImportEdge, file: string) => string | undefined;
}

const under =
  (...folders: string[]) =>
  (file: string | undefined) =>
    file !== undefined && folders.some((folder) => file.startsWith(folder));

/**
 * Adapter values an entry point may still import itself, and why: none of them builds a
 * hop's ports (those come from shared/composition). An allowance nothing uses fails too.
 */
const ENTRY_ALLOWANCES: { entry: string; adapter: string; names: string[]; why: string }[] = [
  {
    entry: 'functions/',
    adapter: 'shared/adapters/aws/batch-metrics.ts',
    names: ['watcherMetrics', 'BATCH_ITEM_FAILURES'],
    why: "the function's own metrics sink and its metric names, as its Logger",
  },
  {
    entry: 'functions/',
    adapter: 'shared/adapters/aws/function-logger.ts',
    names: ['watcherLogger'],
    why: "the function's own logger (Powertools), as its metrics sink",
  },
  {
    entry: 'cli/commands/verify-bundle.ts',
    adapter: 'shared/adapters/sigstore/',
    names: [
      'digestArtifact',
      'isSignatureVerificationError',
      'parseBundle',
      'readStatement',
      'SignatureVerificationError',
      'parseTrustedRoot',
      'verifyBundleWithTrust',
    ],
    why: 'verifying a bundle file offline is the command itself: no hop, no port to choose',
  },
  {
    entry: 'cli/commands/allowlist.ts',
    adapter: 'shared/adapters/sigstore/',
    names: ['keyHint', 'sigstoreAllowlistSignatures'],
    why: "verifies a file offline in the allowlist's one signature format; prints its key hint",
  },
  {
    entry: 'cli/commands/evaluate.ts',
    adapter: 'shared/adapters/aws/ecr-findings.ts',
    names: ['normaliseScanFindings'],
    why: 'judging a findings file offline is the command itself: a DescribeImageScanFindings response, read as the ECR adapter reads it',
  },
  {
    entry: 'cli/local/sample-world.ts',
    adapter: 'shared/adapters/',
    names: [
      'factsOf',
      'platformManifests',
      'MemoryRegistry',
      'normaliseScanFindings',
      'parseTimestamp',
    ],
    why: "npm start's sample registry: the events/ fixtures read as the ECR adapter reads them",
  },
];

const allowed = (edge: ImportEdge, file: string, name: string) =>
  ENTRY_ALLOWANCES.some(
    (a) => file.startsWith(a.entry) && edge.file?.startsWith(a.adapter) && a.names.includes(name),
  );

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
    name: 'policy rules import only the domain, no package, and not the fold that runs them',
    applies: under('shared/domain/rules/'),
    crosses: (edge) =>
      edge.file === undefined
        ? `${edge.module} is a package: a rule is a pure function of its facts (rules/facts.ts)`
        : !under('shared/domain/')(edge.file)
          ? `${edge.file} is outside shared/domain`
          : edge.file === 'shared/domain/evaluate.ts'
            ? 'evaluate.ts folds the rules; a rule takes what it needs from rules/facts.ts'
            : undefined,
  },
  {
    name: 'adapters import no services and no composition root',
    applies: under('shared/adapters/'),
    crosses: (edge) =>
      under('shared/services/', 'shared/composition/')(edge.file) ? `${edge.file}` : undefined,
  },
  {
    name: 'services reach adapters through ports only (type imports count)',
    applies: under('shared/services/'),
    crosses: (edge) =>
      under('shared/adapters/')(edge.file)
        ? `${edge.file}: take a port (shared/ports) and let the composition root pass the adapter`
        : undefined,
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
    name: 'entry points (functions/, cli/) take their adapters from a composition root',
    applies: under('functions/', 'cli/'),
    crosses: (edge, file) => {
      if (!under('shared/adapters/')(edge.file)) return undefined;
      const values = edge.values === '*' ? ['*'] : edge.values;
      const own = values.filter((name) => !allowed(edge, file, name));
      return own.length > 0
        ? `${own.join(', ')} from ${edge.file}: wire it in shared/composition/`
        : undefined;
    },
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
      const why = boundary.crosses(edge, module.file);
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

  it('THEN an entry point that builds an adapter itself crosses; a type from one does not', () => {
    const options = { module: 100, moduleResolution: 3 };
    const entry = BOUNDARIES.find((b) => b.name.startsWith('entry points')) as Boundary;
    const module = readModule(
      'functions/notify/handler.ts',
      [
        "import { DeliveryMarkers } from '../../shared/adapters/aws/delivery-markers';",
        "import type { SlackWebhook } from '../../shared/adapters/slack/webhook';",
        "import { type BatchMetrics, watcherMetrics } from '../../shared/adapters/aws/batch-metrics';",
        "export { SnsPublisher } from '../../shared/adapters/aws/sns-publisher';",
        "const lazy = () => import('../../shared/adapters/aws/kms-signer');",
        "import { createNotifyHandler } from '../../shared/composition/notify';",
      ].join('\n'),
      options,
    );
    expect(crossings(entry, [module])).toEqual([
      "functions/notify/handler.ts:1 imports '../../shared/adapters/aws/delivery-markers': DeliveryMarkers from shared/adapters/aws/delivery-markers.ts: wire it in shared/composition/",
      "functions/notify/handler.ts:4 imports '../../shared/adapters/aws/sns-publisher': SnsPublisher from shared/adapters/aws/sns-publisher.ts: wire it in shared/composition/",
      "functions/notify/handler.ts:5 imports '../../shared/adapters/aws/kms-signer': * from shared/adapters/aws/kms-signer.ts: wire it in shared/composition/",
    ]);
  });

  it('THEN every allowance an entry point has is still used', () => {
    const used = ENTRY_ALLOWANCES.map((a) => ({
      entry: a.entry,
      unused: a.names.filter(
        (name) =>
          ![...graph.values()].some(
            (m) =>
              m.file.startsWith(a.entry) &&
              m.imports.some(
                (e) => e.file?.startsWith(a.adapter) && e.values !== '*' && e.values.includes(name),
              ),
          ),
      ),
    }));
    expect(used.filter((u) => u.unused.length > 0)).toEqual([]);
  });

  it.each(BOUNDARIES.map((b) => [b.name, b] as const))('THEN %s', (_name, boundary) => {
    expect(crossings(boundary, graph.values())).toEqual([]);
  });
});
