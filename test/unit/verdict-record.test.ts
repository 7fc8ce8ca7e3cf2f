import { evaluate } from '../../shared/domain/evaluate';
import {
  deletedDraft,
  draftFrom,
  planWrite,
  previousEvaluation,
  type VerdictDraft,
  type VerdictRecord,
} from '../../shared/domain/verdict-record';
import { completeScan, finding, keyOf, policyOf } from '../support/builders';

const key = keyOf('prod/api');
const scanSummary = { state: 'complete', status: 'COMPLETE', scanner: 'ecr-basic' } as const;

function draft(
  at: string,
  findings = [finding('CVE-1', 'LOW')],
  tags = ['1.0'],
  previous?: VerdictRecord,
): VerdictDraft {
  const evaluation = evaluate({
    image: key,
    scan: completeScan(findings),
    policy: policyOf(),
    now: new Date(at),
    previous: previousEvaluation(previous),
  });
  return draftFrom({ key, tags }, scanSummary, evaluation, undefined, previous);
}

describe('planWrite', () => {
  it('writes a first verdict as a transition from nothing', () => {
    const plan = planWrite(undefined, draft('2026-11-23T00:00:00Z'));
    expect(plan).toMatchObject({
      kind: 'transition',
      expectedVersion: 0,
      record: { version: 1, verdict: 'PASS' },
    });
    expect(plan.record.transitionId).toMatch(/^[a-f0-9]{32}$/);
    expect(plan.record.previousVerdict).toBeUndefined();
  });

  it('only touches evaluatedAt when nothing else changed', () => {
    const first = planWrite(undefined, draft('2026-11-23T00:00:00Z')).record;
    const plan = planWrite(first, draft('2026-11-23T01:00:00Z', undefined, undefined, first));
    expect(plan).toMatchObject({
      kind: 'touch',
      expectedVersion: 1,
      record: { version: 1, evaluatedAt: '2026-11-23T01:00:00.000Z' },
    });
    expect(plan.record.transitionId).toBe(first.transitionId);
  });

  it('does nothing for an identical re-evaluation at the same instant', () => {
    const first = planWrite(undefined, draft('2026-11-23T00:00:00Z')).record;
    expect(planWrite(first, draft('2026-11-23T00:00:00Z', undefined, undefined, first)).kind).toBe(
      'none',
    );
  });

  it('updates without a transition when facts change but the verdict does not', () => {
    const first = planWrite(undefined, draft('2026-11-23T00:00:00Z')).record;
    const plan = planWrite(
      first,
      draft('2026-11-23T01:00:00Z', undefined, ['1.0', 'latest'], first),
    );
    expect(plan).toMatchObject({
      kind: 'update',
      expectedVersion: 1,
      record: { version: 2, tags: ['1.0', 'latest'] },
    });
    expect(plan.record.transitionId).toBe(first.transitionId);
  });

  it('records a verdict change as a transition with the previous verdict', () => {
    const first = planWrite(undefined, draft('2026-11-23T00:00:00Z')).record;
    const plan = planWrite(first, draft('2026-11-23T01:00:00Z', [finding('CVE-9', 'CRITICAL')]));
    expect(plan).toMatchObject({
      kind: 'transition',
      expectedVersion: 1,
      record: {
        version: 2,
        verdict: 'FAIL',
        previousVerdict: 'PASS',
        transitionAt: '2026-11-23T01:00:00.000Z',
      },
    });
    expect(plan.record.transitionId).not.toBe(first.transitionId);
  });

  it('records a deletion as a transition that keeps the verdict', () => {
    const first = planWrite(undefined, draft('2026-11-23T00:00:00Z')).record;
    const plan = planWrite(first, deletedDraft(first, new Date('2026-11-24T00:00:00Z')));
    expect(plan).toMatchObject({
      kind: 'transition',
      record: { verdict: 'PASS', deletedAt: '2026-11-24T00:00:00.000Z', version: 2 },
    });
    expect(previousEvaluation(plan.record)).toBeUndefined();
    expect(
      planWrite(plan.record, deletedDraft(plan.record, new Date('2026-11-25T00:00:00Z'))).kind,
    ).toBe('touch');
  });

  it('keeps the attestation of the previous record', () => {
    const first = {
      ...planWrite(undefined, draft('2026-11-23T00:00:00Z')).record,
      attestation: { digest: 'sha256:x', attestedAt: 'then' },
    };
    const evaluation = evaluate({
      image: key,
      scan: completeScan([]),
      policy: policyOf(),
      now: new Date('2026-11-24T00:00:00Z'),
    });
    expect(
      draftFrom({ key, tags: [] }, scanSummary, evaluation, undefined, first).attestation,
    ).toEqual(first.attestation);
  });
});
