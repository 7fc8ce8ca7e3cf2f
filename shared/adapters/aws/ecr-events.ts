import * as z from 'zod';
import { InvalidEventError } from '../../domain/errors';
import { assertRepositoryName, ecrRegistry, type ImageKey } from '../../domain/image-ref';
import {
  accountAndRegion,
  type BridgeEvent,
  detailOf,
  digestSchema,
  type EventReader,
  eventKind,
  requestOf,
} from './eventbridge';

/** The events ECR and Inspector send to EventBridge (routed by infra/event-patterns.ts). */

const repositoryName = z.string().min(1);

const ecrImageAction = z.looseObject({
  'action-type': z.enum(['PUSH', 'DELETE']),
  result: z.string(),
  'repository-name': repositoryName,
  'image-digest': digestSchema,
});
const ecrImageScan = z.looseObject({
  'scan-status': z.string(),
  'repository-name': repositoryName,
  'image-digest': digestSchema,
});
const inspectorScan = z.looseObject({
  'scan-status': z.string().optional(),
  'repository-name': z.string().min(1),
  'image-digest': digestSchema,
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
                imageHash: digestSchema,
                registry: z.string().optional(),
              })
              .optional(),
          })
          .optional(),
      }),
    )
    .min(1),
});

/** ECR ARNs name repositories in Inspector events: arn:aws:ecr:<region>:<account>:repository/<name>. */
const REPOSITORY_ARN = /^arn:aws[a-z-]*:ecr:([a-z0-9-]+):(\d{12}):repository\/(.+)$/;

function keyIn(event: BridgeEvent, repository: string, imageDigest: string): ImageKey {
  const { account, region } = accountAndRegion(event);
  return {
    registry: ecrRegistry(account, region),
    repository: assertRepositoryName(repository),
    digest: imageDigest,
  };
}

const imageAction: EventReader = (event) => {
  const d = detailOf(ecrImageAction, event);
  if (d.result !== 'SUCCESS') return [];
  const trigger = d['action-type'] === 'PUSH' ? 'push' : 'delete';
  return [requestOf(event, keyIn(event, d['repository-name'], d['image-digest']), trigger)];
};

const imageScan: EventReader = (event) => {
  const d = detailOf(ecrImageScan, event);
  return [requestOf(event, keyIn(event, d['repository-name'], d['image-digest']), 'scan')];
};

const scanOfInspector: EventReader = (event) => {
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
  return [requestOf(event, key, 'inspector-scan')];
};

const findingOfInspector: EventReader = (event) => {
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
    return requestOf(event, key, 'inspector-finding');
  });
};

/** Readers of the ECR and Inspector events, by `<source>/<detail-type>`. */
export const ECR_EVENT_READERS: ReadonlyMap<string, EventReader> = new Map([
  [eventKind('aws.ecr', 'ECR Image Action'), imageAction],
  [eventKind('aws.ecr', 'ECR Image Scan'), imageScan],
  [eventKind('aws.inspector2', 'Inspector2 Scan'), scanOfInspector],
  [eventKind('aws.inspector2', 'Inspector2 Finding'), findingOfInspector],
]);
