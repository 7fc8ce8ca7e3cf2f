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
export type Scanner = 'ecr-basic' | 'inspector';

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
