import * as z from 'zod';
import { InvalidEventError } from '../../domain/errors';
import type { StreamChange } from '../../ports/publishing';
import { itemOfAttributes } from './attribute-values';

const image = z.record(z.string(), z.looseObject({})).optional();
const streamRecord = z.looseObject({
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
  dynamodb: z.looseObject({ SequenceNumber: z.string(), NewImage: image, OldImage: image }),
});
const loose = z.looseObject({
  eventID: z.string().optional(),
  dynamodb: z.looseObject({ SequenceNumber: z.string().optional() }).optional(),
});

/** The envelope only: one bad record must not hide the others (each is parsed alone). */
export const streamEnvelope = z.object({ Records: z.array(z.unknown()) });

function item(attributes: Record<string, object> | undefined) {
  return attributes && itemOfAttributes(attributes);
}

/**
 * One DynamoDB stream record (AttributeValue JSON, as Lambda and the S3 on-failure payload
 * carry it) as a change. A record of the wrong shape keeps its raw form and the reason, so
 * the announcer parks it whole instead of failing the batch.
 */
export function streamChangeOf(raw: unknown, index: number): StreamChange {
  const hint = loose.safeParse(raw);
  const id =
    (hint.success && (hint.data.dynamodb?.SequenceNumber ?? hint.data.eventID)) ||
    `record-${index}`;
  const parsed = streamRecord.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      id,
      raw,
      problem: new InvalidEventError(
        `stream record ${id} is malformed: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
        { cause: parsed.error },
      ),
    };
  }
  try {
    const { OldImage, NewImage } = parsed.data.dynamodb;
    return {
      id,
      raw,
      ...(OldImage && { oldItem: item(OldImage) }),
      ...(NewImage && { newItem: item(NewImage) }),
    };
  } catch (error) {
    const problem = new InvalidEventError(`stream record ${id} has an unreadable image`, {
      cause: error,
    });
    return { id, raw, problem };
  }
}

export function streamChangesOf(records: readonly unknown[]): StreamChange[] {
  return records.map((r, i) => streamChangeOf(r, i));
}

const parkedDocument = z.object({ kind: z.literal('ParkedStreamRecord'), record: z.unknown() });
/** Lambda's S3 on-failure object for a stream: the invocation record, the batch in `payload`. */
const onFailureDocument = z.looseObject({
  requestContext: z.looseObject({}),
  DDBStreamBatchInfo: z.looseObject({}).optional(),
  payload: z.union([z.string(), z.looseObject({ Records: z.array(z.unknown()) })]).optional(),
});

/**
 * The stream records one kept object holds: a record `changes` parked, or the batch of a
 * Lambda S3 on-failure object (its `payload`, a JSON string of the invocation event).
 */
export function keptRecordsOf(text: string, name: string): unknown[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new InvalidEventError(`${name} is not JSON`, { cause: error });
  }
  const parked = parkedDocument.safeParse(document);
  if (parked.success) return [parked.data.record];
  const failure = onFailureDocument.safeParse(document);
  if (!failure.success) {
    throw new InvalidEventError(`${name} is neither a parked record nor an on-failure record`);
  }
  const { payload } = failure.data;
  if (payload === undefined) {
    throw new InvalidEventError(
      `${name} holds only shard coordinates (no payload): nothing to replay from it`,
    );
  }
  const event = typeof payload === 'string' ? safeJson(payload) : payload;
  const envelope = streamEnvelope.safeParse(event);
  if (!envelope.success) throw new InvalidEventError(`${name}: its payload is not a stream event`);
  return envelope.data.Records;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
