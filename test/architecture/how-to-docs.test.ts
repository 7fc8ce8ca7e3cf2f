import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../scripts/module-graph';

/**
 * docs/architecture.md's "How to add …" recipes name files and ports; a rename that leaves
 * them behind fails here instead of rotting in the page.
 */
const page = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');

function howToSection(markdown: string): string {
  const start = markdown.indexOf('## How to add');
  if (start < 0) return '';
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** Backticked repository paths: `shared/...`, `infra/...`, `cli/...`, `test/...`. */
function namedFiles(section: string): string[] {
  return [
    ...new Set(
      [...section.matchAll(/`((?:shared|infra|cli|cluster|functions|test)\/[\w./-]+)`/g)].map(
        (m) => m[1] as string,
      ),
    ),
  ];
}

/** `port \`Name\` (\`file\`)` and `\`A\` or \`B\` (\`file\`)`: each name declared in its file. */
function namedPorts(section: string): { port: string; file: string }[] {
  const found: { port: string; file: string }[] = [];
  for (const m of section.matchAll(/port\s+((?:`\w+`(?:,?\s+or\s+|,\s+)?)+)\s+\(`([^`]+)`\)/g)) {
    for (const name of (m[1] as string).matchAll(/`(\w+)`/g)) {
      found.push({ port: name[1] as string, file: m[2] as string });
    }
  }
  return found;
}

const declares = (file: string, name: string) =>
  existsSync(join(ROOT, file)) &&
  new RegExp(`export (interface|type|const|function|class) ${name}\\b`).test(
    readFileSync(join(ROOT, file), 'utf8'),
  );

describe('docs/architecture.md "How to add …"', () => {
  const section = howToSection(page);

  it('THEN it has a recipe for a registry, a scanner, an alert channel and a policy rule', () => {
    for (const what of ['a registry', 'a scanner', 'an alert channel', 'a policy rule']) {
      expect(section).toContain(`### How to add ${what}`);
    }
  });

  it('THEN every file it names exists', () => {
    const files = namedFiles(section);
    expect(files.length).toBeGreaterThan(15);
    expect(files.filter((f) => !existsSync(join(ROOT, f)))).toEqual([]);
  });

  it('THEN every port it names is declared in the file it gives', () => {
    const ports = namedPorts(section);
    expect(ports.map((p) => p.port)).toEqual(
      expect.arrayContaining(['ImageSource', 'FindingsSource', 'AlertSink', 'ScanStarter']),
    );
    expect(ports.filter((p) => !declares(p.file, p.port))).toEqual([]);
  });

  it('THEN a renamed file or port is caught', () => {
    const stale = 'port `ImageFeed` (`shared/ports/index.ts`) in `shared/adapters/aws/ecr2.ts`';
    expect(namedFiles(stale).filter((f) => !existsSync(join(ROOT, f)))).toEqual([
      'shared/adapters/aws/ecr2.ts',
    ]);
    expect(namedPorts(stale).filter((p) => !declares(p.file, p.port))).toEqual([
      { port: 'ImageFeed', file: 'shared/ports/index.ts' },
    ]);
  });
});
