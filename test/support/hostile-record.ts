import { evaluate } from '../../shared/domain/evaluate';
import { parsePreviousEvaluation } from '../../shared/domain/previous-schema';
import { draftFrom, planWrite, type VerdictRecord } from '../../shared/domain/verdict-record';
import { completeScan, finding, keyOf, policyOf } from './builders';

/**
 * A verdict record whose input-chosen names are `names`: finding ids (graced, so each
 * starts a clock), package names, the repository, tags and the exception id, as an
 * attacker who controls an image and its scan could choose them.
 */
export function hostileRecord(names: readonly string[], now: Date): VerdictRecord {
  const [first = 'x'] = names;
  const repository = first.toLowerCase().replace(/^_+|_+$/g, '') || 'x';
  const policy = policyOf(
    [
      'defaults:',
      '  grace: { HIGH: 7d }',
      'exceptions:',
      `  - id: ${JSON.stringify(`${first}-excepted`)}`,
      `    repositories: [${JSON.stringify(repository)}]`,
      '    expires: 2027-01-31',
      '    owner: sec@example.com',
      `    reason: ${JSON.stringify(`about ${first}`)}`,
    ].join('\n'),
  );
  const key = keyOf(repository);
  const findings = [
    ...names.map((id) => finding(id, 'HIGH', { package: { name: id, version: id } })),
    finding(`${first}-excepted`, 'HIGH', { package: { name: first } }),
  ];
  const scan = completeScan(findings, '2026-12-02T00:00:00Z');
  const previous = parsePreviousEvaluation({ verdict: 'PASS', admittedAt: '2026-11-01T00:00:00Z' });
  const evaluation = evaluate({ image: key, scan, policy, previous, now });
  const { findings: _f, ...summary } = scan;
  const draft = draftFrom({ key, tags: [...names] }, summary, evaluation, undefined, undefined);
  return planWrite(undefined, draft).record;
}
