import { announcementId, parseAnnouncement } from '../domain/announcement';
import { type Clock, type Log, silentLog, systemClock } from '../ports';
import type { AlertSink, IdempotencyStore } from '../ports/publishing';
import { deliverOnce } from './deliver-once';

export interface NotifyOptions {
  /** The alert channel; its delivery markers are `markers` (one channel name per channel). */
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

/**
 * The `notify` use case: one alert per verdict event or digest on one channel, at most
 * once per id once delivered (claim, deliver, complete; a failed delivery gives the claim back).
 */
export async function notifyChannel(body: string, options: NotifyOptions): Promise<NotifyResult> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? silentLog;
  const announcement = parseAnnouncement(body);
  const id = announcementId(announcement);
  const { kind } = announcement;
  const channel = options.sink.channel;
  const outcome = await deliverOnce(
    options.markers,
    id,
    clock,
    () => options.sink.deliver(announcement),
    `${channel} message ${id} is being sent by another delivery; retry later`,
  );
  if (outcome === 'duplicate') {
    log.info('already delivered', { id, kind, channel });
    return { id, kind, outcome: 'duplicate' };
  }
  log.info('delivered', { id, kind, channel });
  return { id, kind, outcome: 'sent' };
}
