import type { FindingRule } from '../../../shared/domain/rules/facts';
import { findingsRule } from '../../../shared/domain/rules/findings';
import { FINDING_RULES } from '../../../shared/domain/rules/index';
import { completeScan, finding } from '../../support/builders';
import { manifestFacts } from '../../support/rule-facts';

describe('findingsRule: the finding rules folded over a scan', () => {
  it('groups one reason per key over findings, in first-seen order, and counts every finding', () => {
    const scan = completeScan([
      finding('CVE-3', 'HIGH'),
      finding('CVE-1', 'LOW'),
      finding('CVE-2', 'HIGH', { fixAvailable: false }),
      finding('CVE-4', 'CRITICAL'),
    ]);
    const outcome = findingsRule(FINDING_RULES)(
      manifestFacts('defaults: { block: { onlyFixable: true } }', { scan }),
    );
    expect(outcome?.reasons).toEqual([
      {
        code: 'VULNERABILITY',
        effect: 'fail',
        message: 'findings at or above HIGH: CVE-3, CVE-4',
        findings: ['CVE-3', 'CVE-4'],
      },
      {
        code: 'UNFIXED_IGNORED',
        effect: 'info',
        message: 'findings without an available fix are ignored (onlyFixable: true): CVE-2',
        findings: ['CVE-2'],
      },
    ]);
    expect(outcome?.judged?.map((j) => [j.finding.id, j.blocking])).toEqual([
      ['CVE-3', true],
      ['CVE-1', false],
      ['CVE-2', false],
      ['CVE-4', true],
    ]);
  });

  it('the first rule that settles a finding stops the chain; deadlines and clocks are collected', () => {
    const seen: string[] = [];
    const defer: FindingRule = ({ finding: f }) => {
      seen.push(`defer ${f.id}`);
      return f.id === 'CVE-1'
        ? { blocking: true, running: 5, firstSeen: 'then', end: 7, notes: [] }
        : undefined;
    };
    const never: FindingRule = ({ finding: f }) => {
      seen.push(`never ${f.id}`);
      return { blocking: false, expired: 9 };
    };
    const outcome = findingsRule([defer, never])(
      manifestFacts('', { scan: completeScan([finding('CVE-1', 'LOW'), finding('CVE-2', 'LOW')]) }),
    );
    expect(seen).toEqual(['defer CVE-1', 'defer CVE-2', 'never CVE-2']);
    expect(outcome).toMatchObject({ running: [5], expired: [9], ends: [7] });
    expect([...(outcome?.clock ?? [])]).toEqual([['CVE-1', 'then']]);
  });

  it('a list of more than five ids is cut short in the message but kept whole', () => {
    const ids = ['A', 'B', 'C', 'D', 'E', 'F', 'G'];
    const scan = completeScan(ids.map((id) => finding(id, 'CRITICAL')));
    const [reason] = findingsRule(FINDING_RULES)(manifestFacts('', { scan }))?.reasons ?? [];
    expect(reason?.message).toBe('findings at or above HIGH: A, B, C, D, E and 2 more');
    expect(reason?.findings).toEqual(ids);
  });
});
