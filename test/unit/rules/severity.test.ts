import { severity } from '../../../shared/domain/rules/severity';
import { finding } from '../../support/builders';
import { findingFacts, manifestFacts } from '../../support/rule-facts';

describe('rule severity (block.severity, block.maxCvss)', () => {
  const facts = manifestFacts('defaults: { block: { severity: HIGH, maxCvss: 9 } }');
  const cvss = (score: number) => ({ cvss: { score, version: '3' } });

  it.each([
    ['HIGH at the threshold', finding('CVE-1', 'HIGH'), ['VULNERABILITY']],
    ['MEDIUM under it', finding('CVE-1', 'MEDIUM'), undefined],
    ['LOW at CVSS 9', finding('CVE-1', 'LOW', cvss(9)), ['CVSS_LIMIT']],
    ['LOW at CVSS 8.9', finding('CVE-1', 'LOW', cvss(8.9)), undefined],
    [
      'CRITICAL at CVSS 9.8: both, severity first',
      finding('CVE-1', 'CRITICAL', cvss(9.8)),
      ['VULNERABILITY', 'CVSS_LIMIT'],
    ],
    ['UNDEFINED never by severity', finding('CVE-1', 'UNDEFINED'), undefined],
  ])('%s', (_, f, blocks) => {
    expect(severity(findingFacts(f), facts)).toEqual(blocks && { blocks });
  });
});
