import { InvalidImageReferenceError } from './errors';

/** A reference as written by a user: a tag, a digest, or both. */
export interface ImageRef {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** One image pinned by digest: the unit everything is evaluated and stored by. */
export interface ImageKey {
  registry: string;
  repository: string;
  digest: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['index.docker.io', 'registry-1.docker.io', 'docker.io']);

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]{1,5})?$/;
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** Throws unless `digest` is `sha256:<64 hex>` (or sha512). */
export function assertDigest(digest: string, context = digest): string {
  if (!isDigest(digest)) {
    throw new InvalidImageReferenceError(
      context,
      `digest "${digest}" is not "sha256:" followed by 64 lower-case hex characters`,
    );
  }
  return digest;
}

/**
 * Canonical registry host: lower case, Docker Hub aliases folded to docker.io and the
 * HTTPS default port dropped, so `Registry.Example:443` and `registry.example` are one key.
 */
export function canonicalRegistry(host: string): string {
  let canonical = host.toLowerCase();
  if (canonical.endsWith(':443')) canonical = canonical.slice(0, -4);
  return DOCKER_HUB_ALIASES.has(canonical) ? DOCKER_HUB : canonical;
}

function looksLikeHost(component: string): boolean {
  return (
    component.includes('.') ||
    component.includes(':') ||
    component === 'localhost' ||
    component !== component.toLowerCase()
  );
}

/**
 * Parses `[registry/]repository[:tag][@digest]` the way container runtimes do:
 * no registry means Docker Hub, and a one-part Docker Hub name lives under `library/`.
 */
export function parseImageReference(input: string): ImageRef {
  const reference = input.trim();
  if (reference === '') throw new InvalidImageReferenceError(input, 'it is empty');

  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    assertDigest(digest, input);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw new InvalidImageReferenceError(
        input,
        `tag "${tag}" must be 1-128 characters of letters, digits, "_", "." or "-", not starting with "." or "-"`,
      );
    }
  }

  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  const first = parts[0] ?? '';
  if (parts.length > 1 && looksLikeHost(first)) {
    if (!HOST.test(first)) {
      throw new InvalidImageReferenceError(
        input,
        `registry host "${first}" is not a valid host[:port]`,
      );
    }
    registry = canonicalRegistry(first);
    parts.shift();
  }
  if (parts.length === 0 || (parts.length === 1 && parts[0] === '')) {
    throw new InvalidImageReferenceError(input, 'the repository name is missing');
  }
  for (const part of parts) {
    if (!PATH_COMPONENT.test(part)) {
      throw new InvalidImageReferenceError(
        input,
        `repository path component "${part}" must be lower-case letters and digits, separated by ".", "_", "__" or "-"`,
      );
    }
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (repository.length > 255) {
    throw new InvalidImageReferenceError(
      input,
      'the repository name is longer than 255 characters',
    );
  }
  return {
    registry,
    repository,
    ...(tag !== undefined && { tag }),
    ...(digest !== undefined && { digest }),
  };
}

export function formatImageReference(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** `registry/repository@digest`: the stable id of an image, used in keys and logs. */
export function imageId(key: ImageKey): string {
  return `${key.registry}/${key.repository}@${key.digest}`;
}

/** Parses an image id; unlike a user reference it must carry a digest and no tag. */
export function parseImageId(id: string): ImageKey {
  const ref = parseImageReference(id);
  if (!ref.digest)
    throw new InvalidImageReferenceError(id, 'it is not pinned by digest (@sha256:...)');
  if (ref.tag) throw new InvalidImageReferenceError(id, 'an image id carries no tag');
  return { registry: ref.registry, repository: ref.repository, digest: ref.digest };
}

export function ecrRegistry(accountId: string, region: string): string {
  return `${accountId}.dkr.ecr.${region}.amazonaws.com`;
}

/** Account and region of an ECR registry host, or undefined for other registries. */
export function parseEcrRegistry(host: string): { accountId: string; region: string } | undefined {
  const match = ECR_HOST.exec(host);
  return match?.[1] && match[2] ? { accountId: match[1], region: match[2] } : undefined;
}

/** A repository name alone (as ECR events carry it), validated with the same rules. */
export function assertRepositoryName(name: string): string {
  if (name === '' || name.length > 255 || !name.split('/').every((p) => PATH_COMPONENT.test(p))) {
    throw new InvalidImageReferenceError(
      name,
      'repository names are lower-case path components separated by "/"',
    );
  }
  return name;
}
