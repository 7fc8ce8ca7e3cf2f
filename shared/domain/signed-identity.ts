import { canonicalRegistry, type ImageKey, parseImageReference } from './image-ref';

/**
 * Which image a signature's claimed identity (cosign's `critical.identity.docker-reference`)
 * must name: `ignore` (cosign's default), `repository` (skopeo `matchRepository`), `exact`
 * (skopeo `matchExact`: a tag the image carries, or its digest).
 */
export type IdentityRule = 'ignore' | 'repository' | 'exact';

export const IDENTITY_RULES = ['ignore', 'repository', 'exact'] as const;

export type IdentityCheck = { ok: true } | { ok: false; reason: string };

/** Compares the reference a signature was made for with the image being judged. */
export function checkSignedIdentity(
  rule: IdentityRule,
  signed: string | undefined,
  image: { key: ImageKey; tags: readonly string[] },
): IdentityCheck {
  if (rule === 'ignore') return { ok: true };
  const wanted = `${canonicalRegistry(image.key.registry)}/${image.key.repository}`;
  if (signed === undefined) {
    return {
      ok: false,
      reason: `the signature names no image (no docker-reference), so it cannot be tied to ${wanted} (signatures.identity: ${rule})`,
    };
  }
  let ref: ReturnType<typeof parseImageReference>;
  try {
    ref = parseImageReference(signed);
  } catch {
    return { ok: false, reason: `the signed docker-reference "${signed}" is not a reference` };
  }
  const named = `${ref.registry}/${ref.repository}`;
  if (named !== wanted) {
    return {
      ok: false,
      reason: `signed for ${signed}, not for repository ${wanted} (signatures.identity: ${rule})`,
    };
  }
  if (rule === 'repository') return { ok: true };
  const digestOk = ref.digest === undefined || ref.digest === image.key.digest;
  const tagOk = ref.tag === undefined || image.tags.includes(ref.tag);
  if (ref.tag === undefined && ref.digest === undefined) {
    return {
      ok: false,
      reason: `signed for the repository ${signed} only; signatures.identity: exact needs a tag the image carries or its digest`,
    };
  }
  if (!digestOk || !tagOk) {
    return {
      ok: false,
      reason: `signed for ${signed}, which is not this image (tags ${image.tags.join(', ') || 'none'}, ${image.key.digest}) (signatures.identity: exact)`,
    };
  }
  return { ok: true };
}
