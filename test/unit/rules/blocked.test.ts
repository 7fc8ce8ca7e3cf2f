import { blocked } from '../../../shared/domain/rules/blocked';
import { finding } from '../../support/builders';
import { findingFacts, manifestFacts } from '../../support/rule-facts';

describe('rule blocked (last)', () => {
  const facts = manifestFacts('defaults: { block: { severity: MEDIUM, maxCvss: 8, epss: 0.3 } }');
  const f = finding('CVE-1', 'HIGH');

  it.each([
    ['EXPLOITED', 'findings known to be exploited'],
    ['EPSS_LIMIT', 'findings with EPSS >= 0.3'],
    ['VULNERABILITY', 'findings at or above MEDIUM'],
    ['CVSS_LIMIT', 'findings with CVSS >= 8'],
  ] as const)('the first blocking rule %s names the failing reason', (rule, message) => {
    expect(blocked(findingFacts(f, { blockedBy: [rule, 'VULNERABILITY'] }), facts)).toEqual({
      blocking: true,
      notes: [{ key: rule, reason: { code: rule, effect: 'fail', message } }],
    });
  });

  it('a finding nothing blocks is left alone', () => {
    expect(blocked(findingFacts(f), facts)).toBeUndefined();
  });
});
