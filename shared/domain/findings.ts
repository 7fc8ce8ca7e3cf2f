import type { Severity } from './severity';

/** One vulnerability finding, whichever scanner reported it. */
export interface Finding {
  id: string;
  severity: Severity;
  title?: string;
  cvss?: { score: number; version: string; vector?: string };
  package?: { name: string; version?: string; ecosystem?: string };
  fixedIn?: string;
  /** undefined when the scanner does not say (ECR basic scanning). */
  fixAvailable?: boolean;
  /** The scanner knows a public exploit (Inspector `exploitAvailable: YES`). */
  exploitAvailable?: boolean;
  /** Last exploitation the scanner has seen (Inspector `exploitabilityDetails.lastKnownExploitAt`). */
  exploitedAt?: string;
  /** Probability of exploitation within 30 days, 0..1 (FIRST EPSS, as Inspector reports it). */
  epss?: number;
  inspectorScore?: number;
  link?: string;
  firstObservedAt?: string;
}

/**
 * Where a scan stands: drives PENDING, `unscanned` and staleness. `monitoring-ended`: the
 * scanner stopped producing new scans of this image (no finding implied); the last
 * judgement of a digest judged before stands (docs/scan-statuses.md).
 */
export type ScanState = 'complete' | 'in-progress' | 'monitoring-ended' | 'unscanned';
/**
 * A scanner's name as its adapter gives it (ECR's: `ecr-basic`, `inspector`). The domain
 * enumerates none: what it needs to know of a scanner comes as `ScannerTraits`. Stored in
 * facts refs and keys (`F#<completedAt>#<scanner>`), hence `SCANNER_NAME`.
 */
export type Scanner = string;
export const SCANNER_NAME = /^[a-z0-9][a-z0-9.-]{0,63}$/;

/** What evaluation may assume of a findings source's scanners, from the adapter that knows them. */
export interface ScannerTraits {
  /**
   * Scanners that scan only when asked, each scan ending in an event that reads findings
   * again: their stored facts stand while a listing gives no scan time (docs/rescans.md).
   */
  onRequest: readonly Scanner[];
  /** Named on a scan summary no scanner made (an image index without platforms). */
  fallback: Scanner;
}

/** A source that says nothing of its scanners: no facts reused without a scan time. */
export const UNKNOWN_SCANNERS: ScannerTraits = { onRequest: [], fallback: 'unknown' };

export interface ScanFindings {
  state: ScanState;
  /** The scanner's own status word (ECR's: COMPLETE, ACTIVE, FAILED, UNSUPPORTED_IMAGE, ...). */
  status: string;
  description?: string;
  /** What an operator can do about this state (set by the adapter that knows the scanner). */
  remedy?: string;
  scanner: Scanner;
  completedAt?: string;
  vulnerabilitySourceUpdatedAt?: string;
  findings: Finding[];
}

/** Drops undefined properties so stored and compared objects stay minimal and stable. */
export function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
