import { InvalidImageReferenceError } from './errors';
import { canonicalHost, DOCKER_HUB } from './registry-host';

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

export { canonicalRegistry, DOCKER_HUB } from './registry-host';

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
/**
 * Digests a reference may carry: go-digest's registered algorithms (sha256, sha384,
 * sha512) with lower-case hex of their exact length; anything else the runtime rejects.
 */
const REFERENCE_DIGEST = /^(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;
/** distribution/reference regexp.go `digestPat`: well-formed, perhaps unsupported. */
const DIGEST_SHAPE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const IDENTIFIER = /^[a-f0-9]{64}$/;
/** The grammar is printable ASCII; the first other character, for the message. */
const NOT_IN_GRAMMAR = /[^\x21-\x7e]/;
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
 * distribution/reference normalize.go `splitDockerDomain`: the first component is a domain
 * when it is `localhost`, holds "." or ":", or has upper case; otherwise Docker Hub.
 */
function splitDockerDomain(name: string): { domain: string; remainder: string; hub: boolean } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: DOCKER_HUB, remainder: `library/${name}`, hub: true };
  const first = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  if (first === 'index.docker.io' || first === DOCKER_HUB) {
    return {
      domain: DOCKER_HUB,
      remainder: rest.includes('/') ? rest : `library/${rest}`,
      hub: true,
    };
  }
  if (first === 'localhost' || /[.:]/.test(first) || first.toLowerCase() !== first) {
    return { domain: first, remainder: rest, hub: false };
  }
  return { domain: DOCKER_HUB, remainder: name, hub: true };
}

/**
 * Parses `[registry/]repository[:tag][@digest]` as the kubelet and containerd do
 * (distribution/reference `ParseNormalizedNamed`, then containerd's host resolution): the
 * exact string (nothing trimmed), no registry means Docker Hub, a one-part Docker Hub name
 * lives under `library/`, and the registry is canonicalised as `canonicalHost` says.
 */
export function parseImageReference(input: string): ImageRef {
  if (input === '') throw new InvalidImageReferenceError(input, 'it is empty');
  const odd = NOT_IN_GRAMMAR.exec(input);
  if (odd) {
    const code = (odd[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    throw new InvalidImageReferenceError(
      input,
      `character U+${code} at position ${odd.index} is not allowed in a reference (nothing is trimmed: the runtime reads the exact string)`,
    );
  }
  if (IDENTIFIER.test(input)) {
    throw new InvalidImageReferenceError(input, '64 hex characters are an image id, not a name');
  }
  const { domain, remainder, hub } = splitDockerDomain(input);

  let rest = remainder;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!REFERENCE_DIGEST.test(digest)) {
      throw new InvalidImageReferenceError(
        input,
        DIGEST_SHAPE.test(digest) && !/^sha(256|384|512):/.test(digest)
          ? `digest "${digest}" uses an algorithm the runtime does not support (sha256, sha384, sha512)`
          : `digest "${digest}" is not "sha256:" followed by 64 lower-case hex characters`,
      );
    }
  }

  let tag: string | undefined;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw new InvalidImageReferenceError(
        input,
        `tag "${tag}" must be 1-128 characters of letters, digits, "_", "." or "-", not starting with "." or "-"`,
      );
    }
  }

  let registry = DOCKER_HUB;
  if (!hub) {
    const host = canonicalHost(domain);
    if (!host.ok) throw new InvalidImageReferenceError(input, host.reason);
    registry = host.host;
  }
  const parts = rest.split('/');
  if (rest === '') throw new InvalidImageReferenceError(input, 'the repository name is missing');
  for (const part of parts) {
    if (!PATH_COMPONENT.test(part)) {
      throw new InvalidImageReferenceError(
        input,
        `repository path component "${part}" must be lower-case letters and digits, separated by ".", "_", "__" or "-"`,
      );
    }
  }
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
  assertDigest(ref.digest, id);
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
