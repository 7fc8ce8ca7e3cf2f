import type { RegistryClient } from './client';
import { RegistryError } from './errors';
import {
  type Descriptor,
  digestTag,
  type ImageManifest,
  manifestBytes,
  parseImageManifest,
  parseIndex,
  sha256Digest,
} from './manifest';
import { OCI_EMPTY, OCI_INDEX } from './media-types';

export interface Referrers {
  descriptors: Descriptor[];
  /** `api`: GET /v2/<name>/referrers; `tag-schema`: the `sha256-<hex>` index fallback. */
  source: 'api' | 'tag-schema';
}

/**
 * Lists the manifests that refer to `subject` (OCI 1.1): the referrers API, or when the
 * registry answers 404, the referrers tag schema (an index tagged `sha256-<hex>`).
 */
export async function listReferrers(
  client: RegistryClient,
  repository: string,
  subject: string,
  artifactType?: string,
): Promise<Referrers> {
  const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
  const operation = `GET referrers ${client.registry}/${repository}@${subject}`;
  const first = `/v2/${repository}/referrers/${subject}${query}`;
  const answer = await client.getJson(repository, first, operation);
  let descriptors: Descriptor[];
  let source: Referrers['source'] = 'api';
  if (answer.status === 404) {
    source = 'tag-schema';
    const tagged = await client.findManifest(repository, digestTag(subject));
    const entries = tagged ? (parseIndex(tagged.json)?.manifests ?? []) : [];
    descriptors = [];
    for (const entry of entries) descriptors.push(await described(client, repository, entry));
  } else {
    descriptors = await pages(client, repository, answer, operation);
  }
  // Filtering is optional for registries (OCI-Filters-Applied): always filter here too.
  return {
    descriptors: artifactType
      ? descriptors.filter((d) => d.artifactType === artifactType)
      : descriptors,
    source,
  };
}

/** A registry that pages without end stops here, as a failure rather than a short list. */
export const MAX_REFERRER_PAGES = 32;

/** The API's answer and the pages its `Link: <…>; rel="next"` headers name (spec 1.1). */
async function pages(
  client: RegistryClient,
  repository: string,
  first: { status: number; json?: unknown; headers: Headers },
  operation: string,
): Promise<Descriptor[]> {
  const descriptors: Descriptor[] = [];
  let answer = first;
  for (let page = 1; ; page++) {
    const index = parseIndex(answer.json);
    if (answer.status === 404 || !index)
      throw new RegistryError('INVALID_RESPONSE', operation, { detail: 'not an image index' });
    descriptors.push(...index.manifests);
    const next = nextPage(client.registry, answer.headers.get('link'), operation);
    if (!next) return descriptors;
    if (page >= MAX_REFERRER_PAGES) {
      throw new RegistryError('INVALID_RESPONSE', operation, {
        detail: `more than ${MAX_REFERRER_PAGES} pages of referrers`,
      });
    }
    answer = await client.getJson(repository, next, operation);
  }
}

/** The next page's path; a link to another host is refused (it would get our credentials). */
function nextPage(registry: string, link: string | null, operation: string): string | undefined {
  const target = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link ?? '')?.[1];
  if (!target) return undefined;
  const url = new URL(target, `https://${registry}`);
  if (url.host !== registry) {
    throw new RegistryError('INVALID_RESPONSE', operation, {
      detail: `the next page of referrers is on another host (${url.host})`,
    });
  }
  return `${url.pathname}${url.search}`;
}

/**
 * go-containerregistry (cosign) writes fallback entries with the config's media type (the
 * empty type) and no annotations; the manifest itself says what it is, so read it.
 */
async function described(
  client: RegistryClient,
  repository: string,
  entry: Descriptor,
): Promise<Descriptor> {
  const silent =
    (entry.artifactType === undefined || entry.artifactType === OCI_EMPTY) && !entry.annotations;
  if (!silent) return entry;
  const manifest = parseImageManifest((await client.getManifest(repository, entry.digest)).json);
  return manifest ? referrerDescriptor(manifest, entry) : entry;
}

/** The descriptor an index entry needs for a referrer: artifactType and annotations copied. */
export function referrerDescriptor(
  manifest: ImageManifest,
  pushed: { digest: string; mediaType: string; size: number },
): Descriptor {
  const artifactType =
    manifest.artifactType ??
    (manifest.config.mediaType !== OCI_EMPTY ? manifest.config.mediaType : undefined);
  return {
    mediaType: pushed.mediaType,
    digest: pushed.digest,
    size: pushed.size,
    ...(artifactType && { artifactType }),
    ...(manifest.annotations && { annotations: manifest.annotations }),
  };
}

export interface AttachOptions {
  /** Existing referrers this one supersedes: removed from the index and deleted. */
  replaces?: (descriptor: Descriptor) => boolean;
}

/**
 * Pushes a manifest that has a `subject`. When the registry does not index subjects (no
 * `OCI-Subject` header), the referrers tag index is updated by read-modify-write.
 * Superseded referrers are removed so the list does not grow without bound.
 */
export async function attachReferrer(
  client: RegistryClient,
  repository: string,
  manifest: ImageManifest & { subject: Descriptor },
  options: AttachOptions = {},
): Promise<Descriptor> {
  const bytes = manifestBytes(manifest);
  const pushed = await client.putManifest(repository, sha256Digest(bytes), bytes);
  const descriptor = referrerDescriptor(manifest, pushed);
  const subject = manifest.subject.digest;
  const replaces = (d: Descriptor) =>
    d.digest !== descriptor.digest && (options.replaces?.(d) ?? false);
  let superseded: Descriptor[];
  if (pushed.subjectProcessed) {
    superseded = (await listReferrers(client, repository, subject)).descriptors.filter(replaces);
  } else {
    const tag = digestTag(subject);
    const current = await client.findManifest(repository, tag);
    const entries = current ? (parseIndex(current.json)?.manifests ?? []) : [];
    superseded = entries.filter(replaces);
    const kept = entries.filter((d) => d.digest !== descriptor.digest && !replaces(d));
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...kept, descriptor] };
    await client.putManifest(repository, tag, manifestBytes(index));
  }
  for (const old of superseded) await client.deleteManifest(repository, old.digest);
  return descriptor;
}
