import type { Decision, ImageCheck, ReasonCode } from './decision';
import type { ImageKind } from './workloads';

/** Kubernetes recommends warnings of at most 120 characters; we keep them under. */
export const MAX_WARNING = 119;
/** The API server ignores warnings past 4 KiB in total; 20 short ones stay well inside. */
export const MAX_WARNINGS = 20;

const SHORT: Record<ReasonCode, string> = {
  ALLOWLISTED: 'allowlisted',
  VERDICT_WARN: 'admitted with verdict WARN',
  TAG_RESOLVED: 'not pinned, tag resolved by allowlist',
  NOT_PINNED: 'not pinned by digest',
  TAG_NOT_ALLOWLISTED: 'tag not on an allowlisted digest',
  TAG_AMBIGUOUS: 'tag names several digests',
  NOT_ALLOWLISTED: 'digest not in the allowlist',
  ENTRY_EXPIRED: 'allowlist entry expired',
  INVALID_REFERENCE: 'invalid image reference',
  UNWATCHED_REGISTRY: 'registry not watched',
  ALLOWLIST_EXPIRED: 'allowlist expired',
  NO_ALLOWLIST: 'no allowlist loaded',
  EXEMPT_NAMESPACE: 'namespace exempt',
  BREAK_GLASS: 'break-glass',
  NOT_A_WORKLOAD: 'not a workload',
  MALFORMED_REQUEST: 'malformed request',
};

const LABEL: Record<ImageKind, string> = {
  containers: 'container',
  initContainers: 'initContainer',
  ephemeralContainers: 'ephemeralContainer',
  volumes: 'imageVolume',
};

/** One line per image for AdmissionReview `warnings`: short, no newline. */
export function imageWarning(check: ImageCheck, prefix = ''): string {
  const label = `${prefix}${LABEL[check.container.kind]} ${oneLine(check.container.name)} `;
  const tail = `: ${SHORT[check.reason]}`;
  const room = Math.max(16, MAX_WARNING - label.length - tail.length);
  return clip(`${label}${abbreviate(check.container.image, room)}${tail}`);
}

/** Cuts any text to one line of at most MAX_WARNING characters. */
export function clip(text: string, max = MAX_WARNING): string {
  const line = oneLine(text);
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** Shortens digests to 12 hex characters, then the middle of the reference if still too long. */
export function abbreviate(image: string, max: number): string {
  const short = oneLine(image).replace(/@(sha256:[a-f0-9]{12})[a-f0-9]{52}\b/, '@$1');
  if (short.length <= max) return short;
  const keep = max - 1;
  const head = Math.ceil(keep / 2);
  return `${short.slice(0, head)}…${short.slice(short.length - (keep - head))}`;
}

/** Caps the list so the API server keeps all of it. */
export function capWarnings(warnings: string[]): string[] {
  if (warnings.length <= MAX_WARNINGS) return warnings;
  const kept = warnings.slice(0, MAX_WARNINGS - 1);
  return [...kept, `… and ${warnings.length - kept.length} more warning(s): see the webhook log`];
}

/**
 * Longest `status.message`: it is copied into events, audit logs and `kubectl` output, and
 * the pod spec it quotes is the requester's (a 7 MB reference made a 14 MB message).
 */
export const MAX_STATUS_MESSAGE = 4096;
/** Longest reference or explanation quoted per image in a message or log line. */
export const MAX_QUOTED = 300;

/** A reference as written when it is short enough (digest in full, to copy), else abbreviated. */
export function quote(image: string, max = MAX_QUOTED): string {
  return image.length <= max ? oneLine(image) : abbreviate(image, max);
}

/** The `status.message` of a denial: what is wrong with which image, and what to do. */
export function denialMessage(decision: Decision, max = 10): string {
  const total = decision.problems.length;
  const head = `registry-watcher denied ${total} image(s): `;
  const lines: string[] = [];
  let size = head.length;
  // Whole lines only, so the count of the rest always fits at the end.
  for (const c of decision.problems.slice(0, max)) {
    const line = `${clip(c.container.field, 80)} (${clip(c.container.name, 64)}) "${quote(c.container.image)}": ${clip(c.message, MAX_QUOTED)}`;
    if (size + line.length + 2 > MAX_STATUS_MESSAGE - 32) break;
    lines.push(line);
    size += line.length + 2;
  }
  const more = total - lines.length;
  if (more > 0) lines.push(`and ${more} more`);
  return `${head}${lines.join('; ')}`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ');
}
