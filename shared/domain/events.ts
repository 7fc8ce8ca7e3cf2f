import * as z from 'zod';
import { InvalidEventError } from './errors';
import type { ImageFacts } from './image-facts';
import {
  assertDigest,
  assertRepositoryName,
  ecrRegistry,
  type ImageKey,
  parseImageId,
} from './image-ref';

/** Why an image is being looked at. Every trigger leads to the same re-evaluation. */
export const TRIGGERS = [
  'push',
  'delete',
  'scan',
  'inspector-scan',
  'inspector-finding',
  'rescan',
  'reconcile',
  'manual',
] as const;
export type Trigger = (typeof TRIGGERS)[number];

export interface EvaluateRequest {
  key: ImageKey;
  trigger: Trigger;
  eventId?: string;
  eventTime?: string;
  /**
   * What the rescan planner learnt of the image from the registry's listing, with no scan
   * started since: evaluate neither describes the image again nor re-reads findings of a
   * scan whose facts it keeps (docs/rescans.md, Facts).
   */
  seen?: ImageFacts;
}

/** Source and detail-type of the evaluate requests the watcher sends itself. */
export const EVALUATE_REQUEST_SOURCE = 'registry-watcher';
export const EVALUATE_REQUEST_DETAIL_TYPE = 'Evaluate Request';

const envelope = z.looseObject({
  id: z.string().optional(),
  source: z.string(),
  'detail-type': z.string(),
  account: z.string().optional(),
  region: z.string().optional(),
  time: z.string().optional(),
  detail: z.unknown(),
});
type Envelope = z.infer<typeof envelope>;

const digest = z.string().refine((d) => {
  try {
    assertDigest(d);
    return true;
  } catch {
    return false;
  }
}, 'expected an image digest sha256:<64 hex>');

const repositoryName = z.string().min(1);

const ecrImageAction = z.looseObject({
  'action-type': z.enum(['PUSH', 'DELETE']),
  result: z.string(),
  'repository-name': repositoryName,
  'image-digest': digest,
});
const ecrImageScan = z.looseObject({
  'scan-status': z.string(),
  'repository-name': repositoryName,
  'image-digest': digest,
});
const inspectorScan = z.looseObject({
  'scan-status': z.string().optional(),
  'repository-name': z.string().min(1),
  'image-digest': digest,
});
const inspectorFinding = z.looseObject({
  resources: z
    .array(
      z.looseObject({
        type: z.string(),
        region: z.string().optional(),
        details: z
          .looseObject({
            awsEcrContainerImage: z
              .looseObject({
                repositoryName: repositoryName,
                imageHash: digest,
                registry: z.string().optional(),
              })
              .optional(),
          })
          .optional(),
      }),
    )
    .min(1),
});
const isoTime = z.iso.datetime({ offset: true });
const seenImage = z.object({
  tags: z.array(z.string()).max(1000),
  mediaType: z.string().optional(),
  artifactMediaType: z.string().optional(),
  pushedAt: isoTime.optional(),
  scanStatus: z.string().optional(),
  scanCompletedAt: isoTime.optional(),
  platforms: z
    .array(z.object({ digest, platform: z.string(), scanCompletedAt: isoTime.optional() }))
    .max(256)
    .optional(),
});
const ownRequest = z.looseObject({
  image: z.string().min(1),
  trigger: z.enum(TRIGGERS),
  seen: seenImage.optional(),
});

/** ECR ARNs name repositories in Inspector events: arn:aws:ecr:<region>:<account>:repository/<name>. */
const REPOSITORY_ARN = /^arn:aws[a-z-]*:ecr:([a-z0-9-]+):(\d{12}):repository\/(.+)$/;

function accountAndRegion(event: Envelope): { account: string; region: string } {
  if (!event.account || !event.region) {
    throw new InvalidEventError(
      `${event['detail-type']} event ${event.id ?? ''} has no account or region`,
    );
  }
  return { account: event.account, region: event.region };
}

function detailOf<T extends z.ZodType>(schema: T, event: Envelope): z.infer<T> {
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

function keyIn(event: Envelope, repository: string, imageDigest: string): ImageKey {
  const { account, region } = accountAndRegion(event);
  return {
    registry: ecrRegistry(account, region),
    repository: assertRepositoryName(repository),
    digest: imageDigest,
  };
}

function request(event: Envelope, key: ImageKey, trigger: Trigger): EvaluateRequest {
  return {
    key,
    trigger,
    ...(event.id && { eventId: event.id }),
    ...(event.time && { eventTime: event.time }),
  };
}

/**
 * Turns one EventBridge event into the evaluate requests it implies. Events say only what
 * to look at; the evaluation reads the current facts. Throws InvalidEventError for events
 * that are not ours or are malformed, so they reach the DLQ with a reason.
 */
export function requestsFromEvent(input: unknown): EvaluateRequest[] {
  const parsed = envelope.safeParse(input);
  if (!parsed.success) {
    throw new InvalidEventError(
      'not an EventBridge event: expected source, detail-type and detail',
      { cause: parsed.error },
    );
  }
  const event = parsed.data;
  const kind = `${event.source}/${event['detail-type']}`;
  switch (kind) {
    case 'aws.ecr/ECR Image Action': {
      const d = detailOf(ecrImageAction, event);
      if (d.result !== 'SUCCESS') return [];
      const trigger = d['action-type'] === 'PUSH' ? 'push' : 'delete';
      return [request(event, keyIn(event, d['repository-name'], d['image-digest']), trigger)];
    }
    case 'aws.ecr/ECR Image Scan': {
      const d = detailOf(ecrImageScan, event);
      return [request(event, keyIn(event, d['repository-name'], d['image-digest']), 'scan')];
    }
    case 'aws.inspector2/Inspector2 Scan': {
      const d = detailOf(inspectorScan, event);
      const arn = REPOSITORY_ARN.exec(d['repository-name']);
      const key =
        arn?.[1] && arn[2] && arn[3]
          ? {
              registry: ecrRegistry(arn[2], arn[1]),
              repository: assertRepositoryName(arn[3]),
              digest: d['image-digest'],
            }
          : keyIn(event, d['repository-name'], d['image-digest']);
      return [request(event, key, 'inspector-scan')];
    }
    case 'aws.inspector2/Inspector2 Finding': {
      const d = detailOf(inspectorFinding, event);
      const images = d.resources.filter((r) => r.type === 'AWS_ECR_CONTAINER_IMAGE');
      if (images.length === 0) {
        throw new InvalidEventError(
          `Inspector2 Finding ${event.id ?? ''} is not about an ECR container image (resource types: ${d.resources.map((r) => r.type).join(', ')})`,
        );
      }
      return images.map((resource) => {
        const image = resource.details?.awsEcrContainerImage;
        if (!image) {
          throw new InvalidEventError(
            `Inspector2 Finding ${event.id ?? ''} has no awsEcrContainerImage details`,
          );
        }
        const { account, region } = accountAndRegion(event);
        const key: ImageKey = {
          registry: ecrRegistry(image.registry ?? account, resource.region ?? region),
          repository: assertRepositoryName(image.repositoryName),
          digest: image.imageHash,
        };
        return request(event, key, 'inspector-finding');
      });
    }
    case `${EVALUATE_REQUEST_SOURCE}/${EVALUATE_REQUEST_DETAIL_TYPE}`: {
      const d = detailOf(ownRequest, event);
      const key = parseImageId(d.image);
      const seen = d.seen && seenFacts(key, d.seen);
      return [{ ...request(event, key, d.trigger), ...(seen && { seen }) }];
    }
    default:
      throw new InvalidEventError(
        `not an event registry-watcher handles: source "${event.source}", detail-type "${event['detail-type']}"`,
      );
  }
}

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

/** Parses one SQS message body (JSON text of an EventBridge event). */
export function requestsFromMessageBody(body: string): EvaluateRequest[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidEventError(`message body is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return requestsFromEvent(json);
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
