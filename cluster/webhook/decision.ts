import type { ContainerImage } from './workloads';

/** What the webhook decides, apart from how (decide.ts) and how it is worded (messages.ts). */

export type Mode = 'enforce' | 'warn';
export type FailureMode = 'closed' | 'open';
export type UnwatchedPolicy = 'deny' | 'warn' | 'allow';

/** Why an image (or a whole request) got its outcome; also the `reason` metric label. */
export type ReasonCode =
  | 'ALLOWLISTED'
  | 'VERDICT_WARN'
  | 'TAG_RESOLVED'
  | 'NOT_PINNED'
  | 'TAG_NOT_ALLOWLISTED'
  | 'TAG_AMBIGUOUS'
  | 'NOT_ALLOWLISTED'
  | 'ENTRY_EXPIRED'
  | 'INVALID_REFERENCE'
  | 'UNWATCHED_REGISTRY'
  | 'ALLOWLIST_EXPIRED'
  | 'NO_ALLOWLIST'
  | 'EXEMPT_NAMESPACE'
  | 'BREAK_GLASS'
  | 'NOT_A_WORKLOAD'
  | 'MALFORMED_REQUEST';

export interface DecisionOptions {
  /** Tag-only references are looked up in the allowlist's tag map and admitted with a warning. */
  resolveTags: boolean;
  /** What to do with registries the allowlist does not cover. */
  unwatchedRegistries: UnwatchedPolicy;
  /** Globs of watched registry hosts; default: the registries present in the allowlist. */
  registries?: readonly string[];
  /** Past the allowlist's `validUntil` (or with none loaded): deny (`closed`) or admit (`open`). */
  failureMode: FailureMode;
}

export interface ImageCheck {
  container: ContainerImage;
  outcome: 'admit' | 'warn' | 'deny';
  reason: ReasonCode;
  /** Full explanation, for the denial message and logs. */
  message: string;
  /** The digest that was admitted (resolved from the tag when `TAG_RESOLVED`). */
  digest?: string;
}

export interface RequestFacts {
  mode: Mode;
  images: ContainerImage[];
  /** The break-glass annotation's value, when set and non-empty. */
  breakGlass?: string;
}

export interface Decision {
  allowed: boolean;
  /** `admitted` (no warning), `warned` (admitted with warnings) or `denied`. */
  outcome: 'admitted' | 'warned' | 'denied';
  /** The first reason that shaped the outcome; the metric label. */
  reason: ReasonCode;
  checks: ImageCheck[];
  /** Images that block the request (in enforce mode, without break-glass). */
  problems: ImageCheck[];
  warnings: string[];
  /** The break-glass reason, when it admitted the request. */
  breakGlass?: string;
}
