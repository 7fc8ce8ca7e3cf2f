import * as z from 'zod';
import type { DailyDigest } from './daily-digest';
import { InvalidEventError } from './errors';
import type { EscalationEvent } from './escalation-event';
import { SEVERITIES } from './severity';
import { VERDICTS } from './verdict';
import { EVENTS_API_VERSION, type VerdictEvent } from './verdict-event';

const verdict = z.enum(VERDICTS);

/** What `notify` needs of a verdict event; unknown fields are kept (additive changes). */
const verdictEvent = z.looseObject({
  apiVersion: z.literal(EVENTS_API_VERSION),
  kind: z.literal('VerdictChanged'),
  id: z.string().min(1),
  time: z.string(),
  image: z.looseObject({
    id: z.string(),
    registry: z.string(),
    repository: z.string(),
    digest: z.string(),
    tags: z.array(z.string()),
    consoleUrl: z.string().optional(),
  }),
  verdict,
  previousVerdict: verdict.nullable(),
  admitted: z.boolean(),
  reasons: z.array(z.looseObject({ code: z.string(), effect: z.string(), message: z.string() })),
  severityCounts: z.record(z.enum(SEVERITIES), z.number()),
  maxSeverity: z.string(),
  topFindings: z.array(z.looseObject({ id: z.string(), severity: z.enum(SEVERITIES) })),
  expiringExceptions: z.array(
    z.looseObject({ id: z.string(), owner: z.string(), expiresAt: z.string() }),
  ),
  evaluatedAt: z.string(),
});

const escalationEvent = verdictEvent.omit({ kind: true, previousVerdict: true }).extend({
  kind: z.literal('VerdictEscalated'),
  transitionId: z.string(),
  escalation: z.looseObject({
    newBlocking: z.array(z.string()),
    newBlockingCount: z.number().int().nonnegative(),
    newlyExploited: z.array(z.string()),
    maxSeverity: z.looseObject({ from: z.string(), to: z.string() }).optional(),
  }),
  newFindings: z.array(z.looseObject({ id: z.string(), severity: z.enum(SEVERITIES) })),
});

const dailyDigest = z.looseObject({
  apiVersion: z.literal(EVENTS_API_VERSION),
  kind: z.literal('DailyDigest'),
  id: z.string().min(1),
  time: z.string(),
  counts: z.record(verdict, z.number()),
  total: z.number(),
  newFails: z.array(z.looseObject({ id: z.string(), repository: z.string() })),
  newFailCount: z.number(),
  expiringExceptions: z.array(z.looseObject({ id: z.string(), expiresAt: z.string() })),
});

export type Announcement =
  | { kind: 'VerdictChanged'; event: VerdictEvent }
  | { kind: 'VerdictEscalated'; event: EscalationEvent }
  | { kind: 'DailyDigest'; digest: DailyDigest };

/** Unknown kinds are read as VerdictChanged, so their error names what v1 expects. */
const SCHEMAS = new Map<string, z.ZodType>([
  ['DailyDigest', dailyDigest],
  ['VerdictEscalated', escalationEvent],
  ['VerdictChanged', verdictEvent],
]);

/** Parses a message body published by `changes` or the daily digest (the SNS message in AWS). */
export function parseAnnouncement(body: string): Announcement {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidEventError(`SNS message is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const raw = (json as { kind?: unknown })?.kind;
  const kind = typeof raw === 'string' && SCHEMAS.has(raw) ? raw : 'VerdictChanged';
  const parsed = (SCHEMAS.get(kind) ?? verdictEvent).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidEventError(
      `not a registry-watcher ${kind} message: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      { cause: parsed.error },
    );
  }
  if (kind === 'DailyDigest') {
    return { kind, digest: parsed.data as unknown as DailyDigest };
  }
  if (kind === 'VerdictEscalated') {
    return { kind, event: parsed.data as unknown as EscalationEvent };
  }
  return { kind: 'VerdictChanged', event: parsed.data as unknown as VerdictEvent };
}

/** The deduplication key of an announcement: transition id, escalation id or digest id. */
export function announcementId(announcement: Announcement): string {
  return announcement.kind === 'DailyDigest' ? announcement.digest.id : announcement.event.id;
}

/** The announcement as published (docs/events.md): what `parseAnnouncement` reads back. */
export function announcementBody(announcement: Announcement): string {
  return JSON.stringify(
    announcement.kind === 'DailyDigest' ? announcement.digest : announcement.event,
  );
}
