import { needsAttestation } from './attestation';
import { evaluate, type PlatformScan } from './evaluate';
import type { ScanFindings } from './findings';
import { type FactsRef, type FindingsFacts, reusableRef, scanOfFacts } from './findings-facts';
import type { ImageFacts } from './image-facts';
import type { KnownExploited } from './known-exploited';
import { type Policy, settingsFor } from './policy';
import type { SignatureResult } from './verdict';
import {
  draftFrom,
  planWrite,
  previousEvaluation,
  type VerdictRecord,
  type WritePlan,
} from './verdict-record';

/** The stored scan summary of an index: from its platforms' scans (ECR scans those, not the index). */
export function indexScan(platforms: PlatformScan[]): ScanFindings {
  const first = platforms[0]?.scan;
  return {
    state: platforms.every((p) => p.scan.state === 'complete')
      ? 'complete'
      : platforms.some((p) => p.scan.state === 'in-progress')
        ? 'in-progress'
        : platforms.every((p) => p.scan.state !== 'unscanned')
          ? 'monitoring-ended'
          : 'unscanned',
    status: first?.status ?? 'NO_PLATFORMS',
    scanner: first?.scanner ?? 'ecr-basic',
    findings: [],
    ...(first?.completedAt && {
      completedAt: platforms.map((p) => p.scan.completedAt ?? '').sort()[0],
    }),
  };
}

export interface JudgementInput {
  image: ImageFacts;
  scan: ScanFindings;
  platforms?: PlatformScan[];
  signature?: SignatureResult;
  knownExploited?: KnownExploited;
  previous?: VerdictRecord;
  /** The facts the verdict is judged on, stored before it. */
  facts: FactsRef[];
  policy: Policy;
  now: Date;
}

/** Judges an image and plans the write of its verdict (pure: evaluate and planner share it). */
export function judge(input: JudgementInput): WritePlan {
  const evaluation = evaluate({
    image: input.image.key,
    ...(input.platforms ? { platforms: input.platforms } : { scan: input.scan }),
    ...(input.signature && { signature: input.signature }),
    ...(input.knownExploited && { knownExploited: input.knownExploited }),
    previous: previousEvaluation(input.previous),
    policy: input.policy,
    now: input.now,
  });
  const { findings: _omit, ...summary } = input.scan;
  return planWrite(input.previous, {
    ...draftFrom(input.image, summary, evaluation, input.signature, input.previous),
    ...(input.facts.length > 0 && { facts: input.facts }),
  });
}

export interface RejudgeInput {
  /** The image as the listing shows it (an index with its platforms). */
  seen: ImageFacts;
  record: VerdictRecord;
  /** The stored facts the record names (any order). */
  facts: FindingsFacts[];
  policy: Policy;
  now: Date;
  /** Set when verdicts are attested: a due re-attestation is the evaluate function's work. */
  attestationRefresh?: string;
}

/**
 * Whether the nightly run can leave an image alone: judged again from the facts its verdict
 * names, for the scans the listing still reports, the verdict would change nothing but
 * evaluatedAt (docs/rescans.md, Facts). Anything it cannot tell so goes to evaluate.
 */
export function unchangedFromFacts(input: RejudgeInput): { unchanged: boolean; why: string } {
  const { seen, record } = input;
  if (record.deletedAt) return { unchanged: false, why: 'marked deleted' };
  const trust = settingsFor(input.policy, seen.key.repository).signatures;
  const verifies = trust.required || trust.keys.length > 0 || trust.keyless.length > 0;
  if (verifies && record.signature?.status !== 'verified') {
    return { unchanged: false, why: 'signature to verify again' };
  }
  // The KEV catalog is the evaluate function's to read (refreshed nightly): it may have grown.
  if (settingsFor(input.policy, seen.key.repository).block.exploited) {
    return { unchanged: false, why: 'known-exploited catalog to consult' };
  }
  if (input.attestationRefresh && needsAttestation(record, input.now, input.attestationRefresh)) {
    return { unchanged: false, why: 'attestation due' };
  }
  const manifests = seen.platforms
    ? seen.platforms.map((p) => ({
        digest: p.digest,
        listedAt: p.scanCompletedAt,
        platform: p.platform,
      }))
    : [{ digest: seen.key.digest, listedAt: seen.scanCompletedAt, platform: '' }];
  const scans: PlatformScan[] = [];
  for (const m of manifests) {
    const ref = reusableRef(record.facts, m.digest, m.listedAt);
    const stored =
      ref &&
      input.facts.find(
        (f) =>
          f.key.digest === m.digest &&
          f.completedAt === ref.completedAt &&
          f.scanner === ref.scanner,
      );
    if (!stored) return { unchanged: false, why: 'no stored facts of the listed scan' };
    scans.push({ digest: m.digest, platform: m.platform, scan: scanOfFacts(stored) });
  }
  const platforms = seen.platforms ? scans : undefined;
  const plan = judge({
    image: seen,
    scan: platforms ? indexScan(platforms) : (scans[0]?.scan as ScanFindings),
    ...(platforms && { platforms }),
    ...(record.signature && { signature: record.signature }),
    previous: record,
    facts: record.facts ?? [],
    policy: input.policy,
    now: input.now,
  });
  const unchanged = plan.kind === 'none' || plan.kind === 'touch';
  return {
    unchanged,
    why: unchanged
      ? 'unchanged'
      : `verdict would be ${plan.kind === 'transition' ? plan.record.verdict : 'updated'}`,
  };
}
