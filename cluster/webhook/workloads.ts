/**
 * Where each pod-bearing kind keeps its pod spec, and the images in it. Pure: the input is
 * the `object` of an AdmissionReview request, already JSON-parsed.
 */
import { RegistryWatcherError } from '../../shared/domain/errors';

export type ContainerKind = 'containers' | 'initContainers' | 'ephemeralContainers';
/** Where an image is named: a container list, or an image volume (`volumes[].image`). */
export type ImageKind = ContainerKind | 'volumes';

/** One image reference in the object, with the JSON path a user can find it by. */
export interface ContainerImage {
  /** e.g. `spec.template.spec.initContainers[0]`, `spec.volumes[2]` */
  field: string;
  kind: ImageKind;
  /** The container's or the volume's name. */
  name: string;
  image: string;
}

/** The object is not shaped like its kind: answered with a denial, never a crash. */
export class MalformedObjectError extends RegistryWatcherError {
  constructor(message: string) {
    super('MALFORMED_OBJECT', message);
  }
}

const TEMPLATE = ['spec', 'template'];

/**
 * Path from the object to its pod template (`metadata` + `spec`), per kind. A Map: the kind
 * comes from the request, and `constructor` must not find Object.prototype's.
 */
const POD_TEMPLATE_PATHS: ReadonlyMap<string, readonly string[]> = new Map([
  ['Deployment', TEMPLATE],
  ['ReplicaSet', TEMPLATE],
  ['StatefulSet', TEMPLATE],
  ['DaemonSet', TEMPLATE],
  ['Job', TEMPLATE],
  ['ReplicationController', TEMPLATE],
  ['CronJob', ['spec', 'jobTemplate', 'spec', 'template']],
]);

export const POD_BEARING_KINDS: readonly string[] = ['Pod', ...POD_TEMPLATE_PATHS.keys()];

export function isPodBearing(kind: string): boolean {
  return kind === 'Pod' || kind === 'EphemeralContainers' || POD_TEMPLATE_PATHS.has(kind);
}

export interface PodSource {
  /** Annotations a break-glass can be set on: the object's, then its pod template's. */
  annotations: Record<string, unknown>[];
  images: ContainerImage[];
}

const ALL: readonly ImageKind[] = [
  'containers',
  'initContainers',
  'ephemeralContainers',
  'volumes',
];

/**
 * Every field of a pod spec that names an image the kubelet pulls (docs/enforcement.md keeps
 * the list with the Kubernetes version that added each; a test walks the fixtures for more).
 */
export const IMAGE_FIELDS: Readonly<Record<ImageKind, string>> = Object.freeze({
  containers: 'containers[].image',
  initContainers: 'initContainers[].image',
  ephemeralContainers: 'ephemeralContainers[].image',
  volumes: 'volumes[].image.reference',
});

/**
 * The images an admission request would run. `subResource: ephemeralcontainers` can only add
 * ephemeral containers, so only those are checked there (Kubernetes ≥ 1.23 sends the Pod;
 * 1.16–1.22 sent an `EphemeralContainers` object with the list at the top level).
 */
export function podSource(kind: string, object: unknown, subResource?: string): PodSource {
  const root = asRecord(object, 'object');
  const annotations = [metadataAnnotations(root, 'metadata')];
  if (kind === 'EphemeralContainers') {
    return { annotations, images: images(root, '', ['ephemeralContainers']) };
  }
  if (kind === 'Pod') {
    const spec = asRecord(root.spec, 'spec');
    const kinds = subResource === 'ephemeralcontainers' ? (['ephemeralContainers'] as const) : ALL;
    return { annotations, images: images(spec, 'spec.', kinds) };
  }
  const path = POD_TEMPLATE_PATHS.get(kind);
  if (!path) return { annotations, images: [] };
  let template: Record<string, unknown> = root;
  let at = '';
  for (const key of path) {
    at = at ? `${at}.${key}` : key;
    template = asRecord(template[key], at);
  }
  annotations.push(metadataAnnotations(template, `${at}.metadata`));
  const spec = asRecord(template.spec, `${at}.spec`);
  return { annotations, images: images(spec, `${at}.spec.`, ALL) };
}

function images(
  spec: Record<string, unknown>,
  prefix: string,
  kinds: readonly ImageKind[],
): ContainerImage[] {
  const found: ContainerImage[] = [];
  for (const kind of kinds) {
    const list = spec[kind];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw new MalformedObjectError(`${prefix}${kind} is not a list`);
    list.forEach((entry, i) => {
      const field = `${prefix}${kind}[${i}]`;
      const item = asRecord(entry, field);
      const name = typeof item.name === 'string' ? item.name : `#${i}`;
      if (kind === 'volumes') {
        // Only image volumes name an image; other volume types are not images.
        if (item.image === undefined || item.image === null) return;
        const source = asRecord(item.image, `${field}.image`);
        if (typeof source.reference !== 'string') {
          throw new MalformedObjectError(`${field}.image.reference is missing or not a string`);
        }
        found.push({ field, kind, name, image: source.reference });
        return;
      }
      if (typeof item.image !== 'string') {
        throw new MalformedObjectError(`${field}.image is missing or not a string`);
      }
      found.push({ field, kind, name, image: item.image });
    });
  }
  if (kinds.includes('containers') && !found.some((c) => c.kind === 'containers')) {
    throw new MalformedObjectError(`${prefix}containers is missing or empty`);
  }
  return found;
}

function metadataAnnotations(parent: Record<string, unknown>, at: string): Record<string, unknown> {
  if (parent.metadata === undefined) return {};
  const metadata = asRecord(parent.metadata, at);
  if (metadata.annotations === undefined || metadata.annotations === null) return {};
  return asRecord(metadata.annotations, `${at}.annotations`);
}

function asRecord(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedObjectError(`${at} is missing or not an object`);
  }
  return value as Record<string, unknown>;
}
