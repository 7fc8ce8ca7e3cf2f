import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as ts from 'typescript';
import { ROOT } from '../../scripts/module-graph';

/**
 * The domain names no vendor's wire format (docs/architecture.md, Boundaries): ECR's,
 * Inspector's and EventBridge's shapes are parsed in shared/adapters/aws. Read from the
 * syntax tree, so comments (which may name a vendor as an example) do not count; code,
 * property names, strings, templates and regular expressions do.
 */

/** Field names of the ECR, Inspector and EventBridge payloads. */
const WIRE_FIELDS = new Set([
  'imageScanFindings',
  'enhancedFindings',
  'imageScanStatus',
  'imageScanCompletedAt',
  'imageScanFindingsSummary',
  'packageVulnerabilityDetails',
  'vulnerablePackages',
  'fixedInVersion',
  'vulnerabilityId',
  'exploitabilityDetails',
  'inspectorScoreDetails',
  'awsEcrContainerImage',
  'imageHash',
  'imageDetails',
  'imageDigest',
  'registryId',
  'repositoryName',
]);

/** Text of those formats: event sources and types, detail keys, hosts, API and scanner names. */
const WIRE_TEXT: [RegExp, string][] = [
  [/detail-type/, 'an EventBridge envelope key'],
  [/\baws\.(?:ecr|inspector2)\b/, 'an EventBridge source'],
  [/ECR Image (?:Action|Scan)|Inspector2 (?:Scan|Finding)/, 'an EventBridge detail-type'],
  [/(?:repository-name|image-digest|action-type|scan-status)/, 'an ECR event detail key'],
  [/AWS_ECR_CONTAINER_IMAGE/, 'an Inspector resource type'],
  [/DescribeImageScanFindings|DescribeImages|BatchGetImage|StartImageScan/, 'an ECR API'],
  [/console\.aws\.amazon\.com/, 'the AWS console'],
  [/dkr\.ecr/, 'an ECR host'],
  [/amazonaws\.com/, 'an AWS host'],
  [/^(?:ecr-basic|inspector)$/, "a scanner's name (the domain takes it from its adapter)"],
];

/**
 * Still in the domain, and why; an allowance nothing uses fails, so a fixed crossing leaves
 * the list (docs/architecture.md, "Still vendor-shaped in the domain").
 */
const ALLOWANCES: { file: string; text: string; why: string }[] = [
  {
    file: 'shared/domain/image-ref.ts',
    text: '^(?:dkr\\.ecr|amazonaws\\.com)$',
    why: 'ECR host naming (ecrRegistry, parseEcrRegistry): pure, read by entry points (planner environment, CLI rescan) that may not import adapters',
  },
];

interface Hit {
  file: string;
  line: number;
  text: string;
  why: string;
}

/** Every wire-format name in one source text. */
function wireNames(file: string, source: string): Hit[] {
  const tree = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const hits: Hit[] = [];
  const at = (node: ts.Node) => tree.getLineAndCharacterOfPosition(node.getStart()).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) {
      if (WIRE_FIELDS.has(node.text)) {
        hits.push({ file, line: at(node), text: node.text, why: 'a vendor payload field' });
      }
    } else if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node) ||
      ts.isRegularExpressionLiteral(node)
    ) {
      if (ts.isStringLiteral(node) && WIRE_FIELDS.has(node.text)) {
        hits.push({ file, line: at(node), text: node.text, why: 'a vendor payload field' });
      }
      // A regular expression spells `.` as `\.`: read it unescaped.
      const text = ts.isRegularExpressionLiteral(node) ? node.text.replace(/\\/g, '') : node.text;
      for (const [pattern, why] of WIRE_TEXT) {
        const found = pattern.exec(text);
        if (found) hits.push({ file, line: at(node), text: found[0], why });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(tree);
  return hits;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const allowed = (hit: Hit) =>
  ALLOWANCES.some((a) => a.file === hit.file && new RegExp(a.text).test(hit.text));

describe('the domain is vendor-neutral', () => {
  const hits = sources(join(ROOT, 'shared/domain')).flatMap((path) => {
    const file = relative(ROOT, path).split('\\').join('/');
    return wireNames(file, readFileSync(path, 'utf8'));
  });

  it('THEN it reads every domain file (the rules folder too)', () => {
    const files = sources(join(ROOT, 'shared/domain')).map((p) => relative(ROOT, p));
    expect(files).toEqual(expect.arrayContaining(['shared/domain/findings.ts']));
    expect(files.some((f) => f.startsWith('shared/domain/rules/'))).toBe(true);
  });

  it('THEN no domain file names a vendor wire format (comments aside)', () => {
    expect(
      hits.filter((h) => !allowed(h)).map((h) => `${h.file}:${h.line} ${h.text}: ${h.why}`),
    ).toEqual([]);
  });

  it('THEN every allowance is still used', () => {
    expect(
      ALLOWANCES.filter(
        (a) => !hits.some((h) => h.file === a.file && new RegExp(a.text).test(h.text)),
      ),
    ).toEqual([]);
  });

  it('THEN what the adapters parse would be caught in the domain, and comments are not', () => {
    const sample = [
      '// ECR Image Action events carry detail-type "aws.ecr" (a comment: fine)',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text of a template, as a sample
      "const kind = `${event.source}/${event['detail-type']}`;",
      "if (kind === 'aws.inspector2/Inspector2 Finding') read(d.resources[0].details.awsEcrContainerImage);",
      'const scan = response.imageScanFindings?.enhancedFindings;',
      "const scanner = enhanced ? 'inspector' : 'ecr-basic';",
      'const HOST = /^(\\d{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com$/;',
      "const trigger = 'inspector-scan';",
    ].join('\n');
    expect(wireNames('shared/domain/sample.ts', sample).map((h) => [h.line, h.text])).toEqual([
      [2, 'detail-type'],
      [3, 'aws.inspector2'],
      [3, 'Inspector2 Finding'],
      [3, 'awsEcrContainerImage'],
      [4, 'imageScanFindings'],
      [4, 'enhancedFindings'],
      [5, 'inspector'],
      [5, 'ecr-basic'],
      [6, 'dkr.ecr'],
      [6, 'amazonaws.com'],
    ]);
  });
});
