import { loadFixture } from '../../events';
import { normaliseScanFindings } from '../../shared/adapters/aws/ecr-findings';
import type { Finding } from '../../shared/domain/findings';
import { SEVERITIES } from '../../shared/domain/severity';

const TEMPLATES = normaliseScanFindings(
  loadFixture('ecr/describe-image-scan-findings-enhanced'),
).findings;

/**
 * `count` distinct Inspector findings as the normaliser gives them (ids, packages, versions,
 * fixes and links all different, as in a real image), built from the enhanced fixture.
 */
export function inspectorFindings(count: number, seed = 0): Finding[] {
  return Array.from({ length: count }, (_, i) => {
    const template = TEMPLATES[i % TEMPLATES.length] as Finding;
    const n = seed * 100_003 + i;
    const id = `CVE-${2015 + (n % 11)}-${String(10_000 + ((n * 7919) % 89_999))}`;
    return {
      ...template,
      id,
      severity: SEVERITIES[1 + (n % (SEVERITIES.length - 1))] ?? 'LOW',
      package: {
        name: `lib${(n * 31) % 997}-${['ssl', 'xml2', 'curl', 'z', 'png', 'yaml'][n % 6]}`,
        version: `${n % 9}.${n % 17}.${n % 31}-${n % 5}ubuntu0.${n % 3}`,
        ecosystem: ['OS', 'NPM', 'PYTHONPKG', 'JAR'][n % 4] as string,
      },
      ...(n % 3 !== 0 && { fixedIn: `${n % 9}.${n % 17}.${(n % 31) + 1}` }),
      ...(template.cvss && {
        cvss: { ...template.cvss, score: Math.round(((n % 100) / 10) * 10) / 10 },
      }),
      ...(template.epss !== undefined && { epss: Math.round(((n % 1000) / 1000) * 1e5) / 1e5 }),
      link: `https://nvd.nist.gov/vuln/detail/${id}`,
    };
  });
}
