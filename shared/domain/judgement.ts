import { evaluate, type PlatformScan } from './evaluate';
import type { ScanFindings, Scanner } from './findings';
import type { FactsRef } from './findings-facts';
import type { ImageFacts } from './image-facts';
import type { KnownExploited } from './known-exploited';
import type { Policy } from './policy';
import type { SignatureResult } from './verdict';
import {
  draftFrom,
  planWrite,
  previousEvaluation,
  type VerdictRecord,
  type WritePlan,
} from './verdict-record';

/**
 * The stored scan summary of an index: from its platforms' scans (ECR scans those, not the
 * index); `fallback` names the scanner when there are none.
 */
export function indexScan(platforms: PlatformScan[], fallback: Scanner): ScanFindings {
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
    scanner: first?.scanner ?? fallback,
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
