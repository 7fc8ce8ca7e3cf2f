import * as z from 'zod';
import { InvalidEventError } from './errors';
import { imageId } from './image-ref';
import { SEVERITIES, type Severity, type SeverityCounts } from './severity';
import {
  type FindingSummary,
  isAdmitted,
  type Reason,
  VERDICTS,
  type VerdictValue,
} from './verdict';
import type { VerdictRecord } from './verdict-record';

/** `apiVersion` of every message the watcher publishes; bumped only on a breaking change. */
export const EVENTS_API_VERSION = 'registry-watcher/v1';

/** One verdict transition of one digest, as published to SNS (docs/events.md). */
export interface VerdictEvent {
  apiVersion: typeof EVENTS_API_VERSION;
  kind: 'VerdictChanged';
  /** The transition id: the same transition always carries the same id (deduplication key). */
  id: string;
  /** When the transition happened (the evaluation that changed the verdict). */
  time: string;
  /** The verdict record's version: orders two events about the same digest. */
  version: number;
  image: {
    id: string;
    registry: string;
    repository: string;
    digest: string;
    tags: string[];
    mediaType?: string;
    /**
     * The registry's console page of the digest, when it has one: added last by the
     * publishing adapter that knows the registry (ECR's: shared/adapters/aws/sns-messages.ts).
     */
    consoleUrl?: string;
  };
  verdict: VerdictValue;
  /** null on the first verdict of a digest. */
  previousVerdict: VerdictValue | null;
  /** Whether the digest is on the allowlist after this transition. */
  admitted: boolean;
  deletedAt?: string;
  reasons: Reason[];
  severityCounts: SeverityCounts;
  maxSeverity: Severity | 'NONE';
  topFindings: FindingSummary[];
  /** Earliest remediation deadline running on this digest. */
  deadline?: string;
  /** When admission ends without new facts (grace end, exception expiry). */
  expiresAt?: string;
  /** Exceptions this verdict relies on that end within 7 days. */
  expiringExceptions: { id: string; owner: string; expiresAt: string }[];
  policyHash: string;
  evaluatedAt: string;
  /** Set when reasons or finding ids were cut to keep the message small. */
  truncated?: boolean;
}

const MAX_REASONS = 25;
const MAX_FINDING_IDS = 20;
const EXPIRING_MS = 7 * 86_400_000;

const verdict = z.enum(VERDICTS);
const counts = z.record(z.enum(SEVERITIES), z.number());
const findingSummary = z.looseObject({
  id: z.string(),
  severity: z.enum(SEVERITIES),
  blocking: z.boolean(),
});
const reason = z.looseObject({
  // The wire format tolerates codes it does not know (a newer writer): carried, not judged.
  code: z.string().min(1),
  effect: z.enum(['fail', 'error', 'pending', 'warn', 'info']),
  message: z.string(),
});

/** What a CURRENT item must hold to be announced; the rest is carried as written. */
const currentItem = z.looseObject({
  pk: z.string(),
  sk: z.literal('CURRENT'),
  registry: z.string().min(1),
  repository: z.string().min(1),
  digest: z.string().min(1),
  tags: z.array(z.string()).default([]),
  verdict,
  previousVerdict: verdict.optional(),
  reasons: z.array(reason).default([]),
  severityCounts: counts.optional(),
  maxSeverity: z.enum([...SEVERITIES, 'NONE']).default('NONE'),
  topFindings: z.array(findingSummary).default([]),
  version: z.number().int(),
  transitionId: z.string().optional(),
  transitionAt: z.string().optional(),
  evaluatedAt: z.string(),
  policyHash: z.string().default(''),
  admitted: z.number().int().optional(),
});
export type CurrentItem = VerdictRecord & { pk: string; sk: 'CURRENT'; admitted?: number };

/** Reads a table item (already unmarshalled); undefined for items that are not CURRENT verdicts. */
export function currentItemOf(item: Record<string, unknown> | undefined): CurrentItem | undefined {
  if (item?.sk !== 'CURRENT') return undefined;
  const parsed = currentItem.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidEventError(
      `verdict item ${String(item.pk)} is malformed: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      { cause: parsed.error },
    );
  }
  return parsed.data as unknown as CurrentItem;
}

function onAllowlist(item: CurrentItem | undefined): boolean {
  if (!item) return false;
  return item.admitted !== undefined || (isAdmitted(item.verdict) && !item.deletedAt);
}

const sameList = (a: readonly string[] = [], b: readonly string[] = []) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/** What one change of a table item means for announcements and the allowlist. */
export interface ItemChange {
  event?: VerdictEvent;
  /** The allowlist no longer matches the admitted set (membership, tags, verdict or expiry). */
  allowlistDirty: boolean;
}

/**
 * Compares the old and new image of one stream record. A new transition id means a
 * transition to announce; the allowlist is dirty whenever what it would list changed,
 * with or without a transition (tags moved, expiry moved, deletion).
 */
export function changeOf(
  oldItem: Record<string, unknown> | undefined,
  newItem: Record<string, unknown> | undefined,
): ItemChange {
  const before = currentItemOf(oldItem);
  const after = currentItemOf(newItem);
  const wasListed = onAllowlist(before);
  const isListed = onAllowlist(after);
  const allowlistDirty =
    wasListed !== isListed ||
    (isListed &&
      before !== undefined &&
      after !== undefined &&
      (before.verdict !== after.verdict ||
        before.expiresAt !== after.expiresAt ||
        !sameList(before.tags, after.tags)));
  const transition = after?.transitionId && after.transitionId !== before?.transitionId;
  return {
    allowlistDirty,
    ...(transition && after && { event: verdictEventOf(after, isListed) }),
  };
}

export function verdictEventOf(record: VerdictRecord, admitted: boolean): VerdictEvent {
  let truncated = record.reasons.length > MAX_REASONS;
  const reasons = record.reasons.slice(0, MAX_REASONS).map((r) => {
    if (!r.findings || r.findings.length <= MAX_FINDING_IDS) return r;
    truncated = true;
    return { ...r, findings: r.findings.slice(0, MAX_FINDING_IDS) };
  });
  return {
    apiVersion: EVENTS_API_VERSION,
    kind: 'VerdictChanged',
    id: record.transitionId ?? '',
    time: record.transitionAt ?? record.evaluatedAt,
    version: record.version,
    image: {
      id: imageId(record),
      registry: record.registry,
      repository: record.repository,
      digest: record.digest,
      tags: record.tags,
      ...(record.mediaType && { mediaType: record.mediaType }),
    },
    verdict: record.verdict,
    previousVerdict: record.previousVerdict ?? null,
    admitted,
    ...(record.deletedAt && { deletedAt: record.deletedAt }),
    reasons,
    severityCounts: record.severityCounts,
    maxSeverity: record.maxSeverity,
    topFindings: record.topFindings,
    ...(record.deadline && { deadline: record.deadline }),
    ...(record.expiresAt && { expiresAt: record.expiresAt }),
    expiringExceptions: expiringExceptions(record.reasons, Date.parse(record.evaluatedAt)),
    policyHash: record.policyHash,
    evaluatedAt: record.evaluatedAt,
    ...(truncated && { truncated }),
  };
}

/** Exceptions a verdict leans on that end within 7 days of `now`, one entry per id. */
export function expiringExceptions(
  reasons: readonly Reason[],
  now: number,
): { id: string; owner: string; expiresAt: string }[] {
  const found = new Map<string, { id: string; owner: string; expiresAt: string }>();
  for (const r of reasons) {
    if (!r.exception || (r.code !== 'EXCEPTION_APPLIED' && r.code !== 'EXCEPTION_EXPIRING')) {
      continue;
    }
    const end = Date.parse(r.exception.expiresAt);
    if (end > now && end - now <= EXPIRING_MS) found.set(r.exception.id, { ...r.exception });
  }
  return [...found.values()].sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
}

/** The image as people say it: `repository:tag` (first tag) or `repository@sha256:1234abcd`. */
export function shortImageName(image: { repository: string; digest: string; tags: string[] }) {
  const tag = image.tags[0];
  return tag ? `${image.repository}:${tag}` : `${image.repository}@${image.digest.slice(0, 19)}`;
}
