import { onlyFixable } from '../../../shared/domain/rules/only-fixable';
import { finding } from '../../support/builders';
import { findingFacts, manifestFacts } from '../../support/rule-facts';

describe('rule onlyFixable', () => {
  const on = manifestFacts('defaults: { block: { onlyFixable: true } }');
  const blockedBy = ['VULNERABILITY'] as const;

  it('clears a blocked finding without a fix, with an info note', () => {
    const f = finding('CVE-1', 'HIGH', { fixAvailable: false });
    expect(onlyFixable(findingFacts(f, { blockedBy }), on)).toEqual({
      notes: [
        {
          key: 'UNFIXED_IGNORED',
          reason: {
            code: 'UNFIXED_IGNORED',
            effect: 'info',
            message: 'findings without an available fix are ignored (onlyFixable: true)',
          },
        },
      ],
      blocking: false,
    });
  });

  it('an unknown fix status still counts (fail-safe), as does a fix', () => {
    expect(onlyFixable(findingFacts(finding('CVE-1', 'HIGH'), { blockedBy }), on)).toBeUndefined();
    const fixable = finding('CVE-1', 'HIGH', { fixAvailable: true });
    expect(onlyFixable(findingFacts(fixable, { blockedBy }), on)).toBeUndefined();
  });

  it('does nothing when off, or for a finding nothing blocks', () => {
    const f = finding('CVE-1', 'HIGH', { fixAvailable: false });
    expect(onlyFixable(findingFacts(f, { blockedBy }), manifestFacts())).toBeUndefined();
    expect(onlyFixable(findingFacts(f), on)).toBeUndefined();
  });
});
