import { type Announcement, announcementBody, announcementId } from '../../domain/announcement';
import type { DailyDigest } from '../../domain/daily-digest';
import type { EscalationEvent } from '../../domain/escalation-event';
import { shortImageName, type VerdictEvent } from '../../domain/verdict-event';
import { ecrConsoleUrl } from './ecr-console';

/**
 * An announcement as the verdict-events topic carries it: the body is the event itself
 * (docs/events.md); subject (e-mail) and attributes (filter policies) are SNS's own.
 */
export interface SnsMessage {
  /** Deduplication key (transition id, digest id). */
  id: string;
  subject: string;
  body: string;
  attributes: Record<string, string>;
  /** Ordering key for FIFO topics. */
  groupId: string;
}

/** SNS subjects are one line of ASCII (non-ASCII is mangled in e-mail), fewer than 100 characters. */
export function snsSubject(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?').trim();
  return ascii.length < 100 ? ascii : `${ascii.slice(0, 96)}...`;
}

/**
 * The event as the topic carries it: with the digest's ECR console page last in `image`
 * (docs/events.md), for ECR registries.
 */
function withConsoleUrl<E extends VerdictEvent | EscalationEvent>(event: E): E {
  const { registry, repository, digest } = event.image;
  const consoleUrl = ecrConsoleUrl(registry, repository, digest);
  return consoleUrl ? { ...event, image: { ...event.image, consoleUrl } } : event;
}

export function snsMessageOf(announcement: Announcement): SnsMessage {
  switch (announcement.kind) {
    case 'VerdictChanged':
      return verdictMessage(announcement.event);
    case 'VerdictEscalated':
      return escalationMessage(announcement.event);
    case 'DailyDigest':
      return digestMessage(announcement.digest);
  }
}

/** One verdict event: subject readable in e-mail, attributes for filters. */
export function verdictMessage(event: VerdictEvent): SnsMessage {
  const change = event.deletedAt
    ? `DELETED (was ${event.verdict})`
    : event.previousVerdict
      ? `${event.verdict} (was ${event.previousVerdict})`
      : `${event.verdict} (first verdict)`;
  return {
    id: event.id,
    subject: snsSubject(`[registry-watcher] ${change}: ${shortImageName(event.image)}`),
    body: announcementBody({ kind: 'VerdictChanged', event: withConsoleUrl(event) }),
    attributes: {
      type: 'verdict',
      verdict: event.verdict,
      previousVerdict: event.previousVerdict ?? 'NONE',
      repository: event.image.repository,
      registry: event.image.registry,
      maxSeverity: event.maxSeverity,
      deleted: event.deletedAt ? 'true' : 'false',
    },
    groupId: event.image.id,
  };
}

/** Attribute `type` = `escalation`, subject says what is worse. */
export function escalationMessage(event: EscalationEvent): SnsMessage {
  const { newBlockingCount, newlyExploited, maxSeverity } = event.escalation;
  const what = [
    newBlockingCount > 0 ? `+${newBlockingCount} blocking` : '',
    newlyExploited.length > 0 ? `${newlyExploited.length} now exploited` : '',
    maxSeverity ? `${maxSeverity.from} -> ${maxSeverity.to}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return {
    id: event.id,
    subject: snsSubject(
      `[registry-watcher] WORSE ${event.verdict} (${what}): ${shortImageName(event.image)}`,
    ),
    body: announcementBody({ kind: 'VerdictEscalated', event: withConsoleUrl(event) }),
    attributes: {
      type: 'escalation',
      verdict: event.verdict,
      // The verdict did not change: filters on "newly failing" (previousVerdict) skip these.
      previousVerdict: event.verdict,
      repository: event.image.repository,
      registry: event.image.registry,
      maxSeverity: event.maxSeverity,
      exploited: newlyExploited.length > 0 ? 'true' : 'false',
      deleted: 'false',
    },
    groupId: event.image.id,
  };
}

export function digestMessage(digest: DailyDigest): SnsMessage {
  const date = digest.time.slice(0, 10);
  const expiring = digest.expiringExceptions.length;
  return {
    id: announcementId({ kind: 'DailyDigest', digest }),
    subject: snsSubject(
      `[registry-watcher] daily digest ${date}: ${digest.newFailCount} new FAIL, ${digest.counts.FAIL} FAIL of ${digest.total}, ${expiring} exception(s) expiring`,
    ),
    body: announcementBody({ kind: 'DailyDigest', digest }),
    attributes: { type: 'digest', newFails: String(digest.newFailCount) },
    groupId: 'digest',
  };
}
