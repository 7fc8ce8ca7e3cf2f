import * as z from 'zod';
import { InvalidEventError } from '../../domain/errors';
import { type EvaluateRequest, TRIGGERS, type Trigger } from '../../domain/evaluate-request';
import type { ImageFacts } from '../../domain/image-facts';
import { type ImageKey, parseImageId } from '../../domain/image-ref';
import { ECR_EVENT_READERS } from './ecr-events';
import {
  detailOf,
  digestSchema,
  type EventReader,
  eventKind,
  requestOf,
  requestsOfEvent,
} from './eventbridge';

/**
 * The evaluate queue's messages: EventBridge events (ECR's and Inspector's, routed by
 * infra/event-patterns.ts) and the evaluate requests the watcher sends itself (rescan
 * planner, CLI, `npm start`) in the same envelope.
 */

/** Source and detail-type of the evaluate requests the watcher sends itself. */
const EVALUATE_REQUEST_SOURCE = 'registry-watcher';
const EVALUATE_REQUEST_DETAIL_TYPE = 'Evaluate Request';

const isoTime = z.iso.datetime({ offset: true });
const seenImage = z.object({
  tags: z.array(z.string()).max(1000),
  mediaType: z.string().optional(),
  artifactMediaType: z.string().optional(),
  pushedAt: isoTime.optional(),
  scanStatus: z.string().optional(),
  scanCompletedAt: isoTime.optional(),
  platforms: z
    .array(
      z.object({ digest: digestSchema, platform: z.string(), scanCompletedAt: isoTime.optional() }),
    )
    .max(256)
    .optional(),
});
const ownRequest = z.looseObject({
  image: z.string().min(1),
  trigger: z.enum(TRIGGERS),
  seen: seenImage.optional(),
});

function seenFacts(key: ImageKey, seen: z.infer<typeof seenImage>): ImageFacts {
  const facts: ImageFacts = { key, tags: seen.tags };
  for (const field of [
    'mediaType',
    'artifactMediaType',
    'pushedAt',
    'scanStatus',
    'scanCompletedAt',
  ] as const) {
    const value = seen[field];
    if (value !== undefined) facts[field] = value;
  }
  if (seen.platforms) {
    facts.platforms = seen.platforms.map((p) => ({
      digest: p.digest,
      platform: p.platform,
      ...(p.scanCompletedAt && { scanCompletedAt: p.scanCompletedAt }),
    }));
  }
  return facts;
}

const ownRequestReader: EventReader = (event) => {
  const d = detailOf(ownRequest, event);
  const key = parseImageId(d.image);
  const seen = d.seen && seenFacts(key, d.seen);
  return [{ ...requestOf(event, key, d.trigger), ...(seen && { seen }) }];
};

const OWN_REQUEST: [string, EventReader] = [
  eventKind(EVALUATE_REQUEST_SOURCE, EVALUATE_REQUEST_DETAIL_TYPE),
  ownRequestReader,
];

/**
 * The evaluate queue's message reader: SQS bodies holding EventBridge events of these kinds
 * (each registry's or scanner's readers, from its adapter folder, chosen by the root) or
 * our own Evaluate Requests.
 */
export function messageReaderOf(
  ...kinds: ReadonlyMap<string, EventReader>[]
): (body: string) => EvaluateRequest[] {
  const readers = new Map([...kinds.flatMap((k) => [...k]), OWN_REQUEST]);
  return (body) => requestsOfEvent(jsonOf(body), readers);
}

/** What the deployed watcher reads (ECR's and Inspector's events, our own requests). */
const READERS: ReadonlyMap<string, EventReader> = new Map([...ECR_EVENT_READERS, OWN_REQUEST]);

/**
 * Turns one EventBridge event into the evaluate requests it implies. Events say only what
 * to look at; the evaluation reads the current facts. Throws InvalidEventError for events
 * that are not ours or are malformed, so they reach the DLQ with a reason.
 */
export function requestsFromEvent(input: unknown): EvaluateRequest[] {
  return requestsOfEvent(input, READERS);
}

/** The message the watcher sends itself (rescan planner, CLI) to ask for an evaluation. */
export function evaluateRequestEvent(
  key: ImageKey,
  trigger: Trigger,
  time: Date,
  seen?: ImageFacts,
): object {
  const listed = seen && {
    tags: seen.tags,
    mediaType: seen.mediaType,
    artifactMediaType: seen.artifactMediaType,
    pushedAt: seen.pushedAt,
    scanStatus: seen.scanStatus,
    scanCompletedAt: seen.scanCompletedAt,
    platforms: seen.platforms,
  };
  return {
    source: EVALUATE_REQUEST_SOURCE,
    'detail-type': EVALUATE_REQUEST_DETAIL_TYPE,
    time: time.toISOString(),
    detail: {
      image: `${key.registry}/${key.repository}@${key.digest}`,
      trigger,
      ...(seen && { seen: listed }),
    },
  };
}

function jsonOf(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new InvalidEventError(`message body is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Parses one SQS message body (JSON text of an EventBridge event) as the deployed watcher does. */
export function requestsFromMessageBody(body: string): EvaluateRequest[] {
  return requestsFromEvent(jsonOf(body));
}

/** An EventBridge event or an SQS event wrapping them (for the CLI's `events parse`). */
export function requestsFromAnyEvent(input: unknown): EvaluateRequest[] {
  const records = (input as { Records?: unknown })?.Records;
  if (Array.isArray(records)) {
    return records.flatMap((record, i) => {
      const body = (record as { body?: unknown })?.body;
      if (typeof body !== 'string') throw new InvalidEventError(`Records[${i}] has no SQS body`);
      return requestsFromMessageBody(body);
    });
  }
  return requestsFromEvent(input);
}
