import { parseAnnouncement } from '../domain/announcement';
import { StoreConflictError } from '../domain/errors';
import {
  digestSlackMessage,
  escalationSlackMessage,
  type SlackMessage,
  verdictSlackMessage,
} from '../domain/slack-message';
import { type Clock, type Log, silentLog, systemClock } from '../ports';
import type { AlertSink, IdempotencyStore } from '../ports/publishing';

export interface NotifyOptions {
  sink: AlertSink;
  markers: IdempotencyStore;
  clock?: Clock;
  log?: Log;
}

export interface NotifyResult {
  id: string;
  kind: 'VerdictChanged' | 'VerdictEscalated' | 'DailyDigest';
  outcome: 'sent' | 'duplicate';
}

/** The Slack rendering of an SNS message body, with its deduplication key. */
export function slackMessageFor(body: string): {
  id: string;
  kind: NotifyResult['kind'];
  message: SlackMessage;
} {
  const announcement = parseAnnouncement(body);
  switch (announcement.kind) {
    case 'DailyDigest':
      return {
        id: announcement.digest.id,
        kind: announcement.kind,
        message: digestSlackMessage(announcement.digest),
      };
    case 'VerdictEscalated':
      return {
        id: announcement.event.id,
        kind: announcement.kind,
        message: escalationSlackMessage(announcement.event),
      };
    case 'VerdictChanged':
      return {
        id: announcement.event.id,
        kind: announcement.kind,
        message: verdictSlackMessage(announcement.event),
      };
  }
}

/**
 * The `notify` use case: one Slack message per verdict event or digest, at most once per
 * id once delivered (claim, post, complete; a failed post gives the claim back).
 */
export async function notifySlack(body: string, options: NotifyOptions): Promise<NotifyResult> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? silentLog;
  const { id, kind, message } = slackMessageFor(body);
  const claim = await options.markers.claim(id, clock());
  if (claim === 'done') {
    log.info('already sent to Slack', { id, kind });
    return { id, kind, outcome: 'duplicate' };
  }
  if (claim === 'busy') {
    throw new StoreConflictError(
      `Slack message ${id} is being sent by another delivery; retry later`,
    );
  }
  try {
    await options.sink.post(message);
  } catch (error) {
    await options.markers.release(id).catch(() => undefined);
    throw error;
  }
  await options.markers.complete(id, clock());
  log.info('sent to Slack', { id, kind });
  return { id, kind, outcome: 'sent' };
}
