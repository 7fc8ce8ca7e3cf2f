import { encodeFindings } from '../../shared/domain/findings-facts';
import { mayMatch, type SearchQuery, searchFacts } from '../../shared/domain/fleet-search';
import { finding, keyOf } from '../support/builders';

// Ids and names with what JSON escapes or case folding changes.
const ids = [
  'CVE-2024-1',
  'ghsa-abcd',
  'Straße-1',
  'a"b',
  'c\\d',
  'tab\there',
  '\u00e9t\u00e9',
  '__proto__',
];
const names = ['zlib', 'Zlib', 'lib"q', 'x\\y', 'ünï', 'new\nline'];

describe('mayMatch', () => {
  const findings = ids.map((id, i) =>
    finding(id, 'HIGH', { package: { name: names[i % names.length] as string, version: '1' } }),
  );
  const text = encodeFindings(findings);
  const facts = {
    key: keyOf('prod/api', 1),
    scanner: 'inspector',
    completedAt: 'x',
    status: 'ACTIVE',
    findings,
  } as const;
  const record = { ...keyOf('prod/api', 1), tags: [], verdict: 'PASS', reasons: [] } as never;

  const hitting: SearchQuery[] = [
    ...ids
      .flatMap((id) => [id, id.toUpperCase(), id.toLowerCase()])
      .map((id) => ({ kind: 'finding' as const, id })),
    ...names.map((name) => ({ kind: 'package' as const, name })),
  ];

  it.each(hitting.map((q) => [JSON.stringify(q), q]))(
    'lets every query with a hit through (%s)',
    (_, query) => {
      expect(
        searchFacts(record, { ...facts, findings: [...findings] }, query).length,
      ).toBeGreaterThan(0);
      expect(mayMatch(text, query)).toBe(true);
    },
  );

  it('refuses text that holds neither the id nor the package', () => {
    expect(mayMatch(text, { kind: 'finding', id: 'CVE-2024-2' })).toBe(false);
    expect(mayMatch(text, { kind: 'package', name: 'zli' })).toBe(false);
    expect(mayMatch(text, { kind: 'package', name: 'ZLIB' })).toBe(false);
    expect(mayMatch(text, { kind: 'finding', id: 'straße-1' })).toBe(true);
  });
});
