import { createHash } from 'node:crypto';
import type { PreviousEvaluation } from './evaluate';
import type { ScanFindings } from './findings';
import type { FactsRef } from './findings-facts';
import type { ImageFacts } from './image-facts';
import { type ImageKey, imageId } from './image-ref';
import { canonicalJson } from './policy';
import type { Evaluation, SignatureResult, VerdictValue } from './verdict';

/** The CURRENT verdict of one digest, as stored (DESIGN §5). */
export interface VerdictRecord extends Evaluation, ImageKey {
  tags: string[];
  mediaType?: string;
  scan: Omit<ScanFindings, 'findings'>;
  /** The findings facts it was judged on, one per complete scan of a judged manifest. */
  facts?: FactsRef[];
  signature?: SignatureResult;
  /**
   * The last attestation evaluate asked for: `requestedAt` when it handed the verdict to the
   * attestor (docs/signatures.md); items written before the attestor split, or attested in
   * process (tests), say when it was attached and the referrer's digest.
   */
  attestation?: AttestationMark;
  deletedAt?: string;
  /** Optimistic lock: 1 on first write, +1 on every write but an evaluatedAt-only touch. */
  version: number;
  /** Id of the last transition (verdict change, deletion or first verdict). */
  transitionId?: string;
  transitionAt?: string;
  previousVerdict?: VerdictValue;
}

/** What a record keeps of its last attestation. */
export type AttestationMark = { requestedAt: string } | { digest: string; attestedAt: string };

/** A verdict ready to store, before version and transition bookkeeping. */
export type VerdictDraft = Omit<
  VerdictRecord,
  'version' | 'transitionId' | 'transitionAt' | 'previousVerdict'
>;

export type WriteKind = 'transition' | 'update' | 'touch' | 'none';

export interface WritePlan {
  kind: WriteKind;
  record: VerdictRecord;
  /** The version the stored item must still have (0: it must not exist). */
  expectedVersion: number;
  /**
   * A touch the store may leave out: a nightly re-judgement that changed nothing
   * (docs/rescans.md, Writes). Stores still write it to repair bookkeeping.
   */
  quiet?: true;
}

/** Fields whose change is bookkeeping, not a change of facts or judgement. */
const BOOKKEEPING = new Set<string>([
  'evaluatedAt',
  'version',
  'transitionId',
  'transitionAt',
  'previousVerdict',
]);

function material(record: Partial<VerdictRecord>): string {
  return canonicalJson(
    Object.fromEntries(Object.entries(record).filter(([k]) => !BOOKKEEPING.has(k))),
  );
}

export function transitionIdOf(key: ImageKey, version: number, at: string): string {
  return createHash('sha256')
    .update(`${imageId(key)}#${version}#${at}`)
    .digest('hex')
    .slice(0, 32);
}

/**
 * Decides how a new verdict is written: a transition (verdict or deletion changed: new
 * transition id and history item), an update (other facts changed), or a touch (nothing
 * but evaluatedAt changed: only that attribute is written, no stream announcement).
 */
export function planWrite(previous: VerdictRecord | undefined, draft: VerdictDraft): WritePlan {
  const expectedVersion = previous?.version ?? 0;
  const transition =
    !previous ||
    previous.verdict !== draft.verdict ||
    (previous.deletedAt === undefined) !== (draft.deletedAt === undefined);
  if (transition) {
    const version = expectedVersion + 1;
    return {
      kind: 'transition',
      expectedVersion,
      record: {
        ...draft,
        version,
        transitionId: transitionIdOf(draft, version, draft.evaluatedAt),
        transitionAt: draft.evaluatedAt,
        ...(previous && { previousVerdict: previous.verdict }),
      },
    };
  }
  const carried = {
    ...draft,
    version: expectedVersion,
    transitionId: previous.transitionId,
    transitionAt: previous.transitionAt,
    previousVerdict: previous.previousVerdict,
  };
  if (material(previous) === material(carried)) {
    return {
      kind: previous.evaluatedAt === draft.evaluatedAt ? 'none' : 'touch',
      expectedVersion,
      record: carried,
    };
  }
  return { kind: 'update', expectedVersion, record: { ...carried, version: expectedVersion + 1 } };
}

/** Assembles the stored draft from facts and evaluation. */
export function draftFrom(
  facts: ImageFacts,
  scan: Omit<ScanFindings, 'findings'>,
  evaluation: Evaluation,
  signature: SignatureResult | undefined,
  previous: VerdictRecord | undefined,
): VerdictDraft {
  return {
    ...facts.key,
    tags: [...facts.tags].sort(),
    ...(facts.mediaType && { mediaType: facts.mediaType }),
    scan,
    ...(signature && { signature }),
    ...(previous?.attestation && { attestation: previous.attestation }),
    ...evaluation,
  };
}

/** A deleted image keeps its last verdict, marked deleted, and leaves the allowlist. */
export function deletedDraft(previous: VerdictRecord, now: Date): VerdictDraft {
  const { version, transitionId, transitionAt, previousVerdict, ...rest } = previous;
  return {
    ...rest,
    deletedAt: previous.deletedAt ?? now.toISOString(),
    evaluatedAt: now.toISOString(),
  };
}

/** What evaluation may rely on: a deleted record no longer counts as admitted. */
export function previousEvaluation(
  record:
    | (PreviousEvaluation & Pick<VerdictRecord, 'scan' | 'deletedAt' | 'scannedAt'>)
    | undefined,
): PreviousEvaluation | undefined {
  if (!record || record.deletedAt) return undefined;
  // Records written before scannedAt existed: the stored scan summary has the date.
  if (record.scannedAt || record.scan.state !== 'complete' || !record.scan.completedAt)
    return record;
  return { ...record, scannedAt: record.scan.completedAt };
}
