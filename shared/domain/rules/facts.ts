/**
 * What every policy rule sees and returns. A rule is a pure function of these facts: it
 * returns reasons, deadlines and entry ends, and evaluate() folds them into the verdict.
 */
import type { Finding, ScanFindings } from '../findings';
import type { ImageKey } from '../image-ref';
import type { KnownExploited } from '../known-exploited';
import type { PolicyException, RuleSettings } from '../policy';
import type { Evaluation, Reason, SignatureResult } from '../verdict';

/** The previous verdict, as far as evaluation needs it. */
export type PreviousEvaluation = Pick<
  Evaluation,
  'verdict' | 'reasons' | 'severityCounts' | 'maxSeverity' | 'topFindings' | 'findingClock'
> &
  Partial<Pick<Evaluation, 'admittedAt' | 'deadline' | 'expiresAt' | 'scannedAt' | 'blocking'>>;

/** The one typed input of every rule: the image's facts and the settings that apply to it. */
export interface ImageFacts {
  image: ImageKey;
  settings: RuleSettings;
  /** Exceptions by upper-case finding id. */
  exceptions: ReadonlyMap<string, PolicyException[]>;
  previousAdmitted: boolean;
  /** Maps, not objects: finding ids come from the scanner (`constructor` is a fine id). */
  previousClock: ReadonlyMap<string, string>;
  /** The previous verdict, when it was judged from a usable scan. */
  judgedBefore?: PreviousEvaluation;
  knownExploited?: KnownExploited;
  signature?: SignatureResult;
  /** How many manifests were scanned (an image index may list none). */
  manifests: number;
  /** The manifest being judged, for an image index. */
  platform?: string;
  now: Date;
}

/** A manifest's facts: the image's, plus the scan of this manifest. */
export interface ManifestFacts extends ImageFacts {
  scan: ScanFindings;
}

/** What a rule returns; evaluate() takes the earliest deadline and entry end over all rules. */
export interface RuleOutcome {
  reasons?: Reason[];
  /** Grace deadlines still running (epoch ms). */
  running?: number[];
  /** Grace deadlines already passed (epoch ms). */
  expired?: number[];
  /** When an admission ends without new facts (exception expiry, epoch ms). */
  ends?: number[];
  /** A scan is running: keep the previous verdict of an admitted digest. */
  rescanning?: boolean;
  /** The judgement was carried from the previous verdict (no new scan). */
  carried?: boolean;
  scannedAt?: string;
  /** Every finding of the scan, as judged (the counts and top findings come from these). */
  judged?: JudgedFinding[];
  /** Grace clocks set by this scan, by finding id. */
  clock?: ReadonlyMap<string, string>;
  /** No later rule applies to this manifest (no usable scan, or a carried judgement). */
  final?: boolean;
}

export type ImageRule = (facts: ImageFacts) => RuleOutcome | undefined;
export type ManifestRule = (facts: ManifestFacts) => RuleOutcome | undefined;

export interface JudgedFinding {
  finding: Finding;
  blocking: boolean;
  /** Known exploited: scanner exploit data or the KEV catalog. */
  exploited?: boolean;
}

/** A policy setting that blocks a finding; the first one that applies names the reason. */
export type BlockingRule = 'EXPLOITED' | 'EPSS_LIMIT' | 'VULNERABILITY' | 'CVSS_LIMIT';

/** A finding as the finding rules see it, and what earlier rules found about it. */
export interface FindingFacts {
  finding: Finding;
  /** Known exploited: scanner exploit data or the KEV catalog. */
  exploited: boolean;
  /** Every setting that blocks it, in rule order. */
  blockedBy: readonly BlockingRule[];
  /** An exception matched but is no longer in force. */
  lapsed: boolean;
}

/** A reason about findings, grouped by `key` across the manifest's findings. */
export interface FindingNote {
  key: string;
  reason: Omit<Reason, 'findings'>;
}

export interface FindingStep {
  blocks?: BlockingRule[];
  notes?: FindingNote[];
  running?: number;
  expired?: number;
  end?: number;
  /** The grace clock: when the finding was first seen blocking. */
  firstSeen?: string;
  lapsed?: boolean;
  /** Settles the finding (later rules do not see it): true if it still blocks. */
  blocking?: boolean;
}

export type FindingRule = (finding: FindingFacts, facts: ManifestFacts) => FindingStep | undefined;

/** The first ids, and how many more: a reason's message stays short. */
export function listIds(ids: string[]): string {
  const shown = ids.slice(0, 5).join(', ');
  return ids.length > 5 ? `${shown} and ${ids.length - 5} more` : shown;
}
