import * as z from 'zod';
import { InvalidEventError } from '../../domain/errors';
import type { EvaluateRequest, Trigger } from '../../domain/evaluate-request';
import { assertDigest, type ImageKey } from '../../domain/image-ref';

/** The EventBridge envelope every event the evaluate queue carries is wrapped in. */
const envelope = z.looseObject({
  id: z.string().optional(),
  source: z.string(),
  'detail-type': z.string(),
  account: z.string().optional(),
  region: z.string().optional(),
  time: z.string().optional(),
  detail: z.unknown(),
});
export type BridgeEvent = z.infer<typeof envelope>;

/** Reads one kind of event (one `source` and `detail-type`) into the requests it implies. */
export type EventReader = (event: BridgeEvent) => EvaluateRequest[];

export const digestSchema = z.string().refine((d) => {
  try {
    assertDigest(d);
    return true;
  } catch {
    return false;
  }
}, 'expected an image digest sha256:<64 hex>');

/** The key of a reader: `<source>/<detail-type>`. */
export const eventKind = (source: string, detailType: string) => `${source}/${detailType}`;

export function accountAndRegion(event: BridgeEvent): { account: string; region: string } {
  if (!event.account || !event.region) {
    throw new InvalidEventError(
      `${event['detail-type']} event ${event.id ?? ''} has no account or region`,
    );
  }
  return { account: event.account, region: event.region };
}

export function detailOf<T extends z.ZodType>(schema: T, event: BridgeEvent): z.infer<T> {
  const parsed = schema.safeParse(event.detail);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidEventError(
      `malformed "${event['detail-type']}" event ${event.id ?? ''}: detail.${issue?.path.join('.') ?? ''}: ${issue?.message}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/** The request for `key`, carrying the event's id and time. */
export function requestOf(event: BridgeEvent, key: ImageKey, trigger: Trigger): EvaluateRequest {
  return {
    key,
    trigger,
    ...(event.id && { eventId: event.id }),
    ...(event.time && { eventTime: event.time }),
  };
}

/**
 * Turns one EventBridge event into the evaluate requests it implies, by the reader of its
 * kind. Throws InvalidEventError for events no reader takes or that are malformed, so
 * they reach the DLQ with a reason.
 */
export function requestsOfEvent(
  input: unknown,
  readers: ReadonlyMap<string, EventReader>,
): EvaluateRequest[] {
  const parsed = envelope.safeParse(input);
  if (!parsed.success) {
    throw new InvalidEventError(
      'not an EventBridge event: expected source, detail-type and detail',
      { cause: parsed.error },
    );
  }
  const event = parsed.data;
  const read = readers.get(eventKind(event.source, event['detail-type']));
  if (!read) {
    throw new InvalidEventError(
      `not an event registry-watcher handles: source "${event.source}", detail-type "${event['detail-type']}"`,
    );
  }
  return read(event);
}
