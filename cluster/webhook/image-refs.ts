import { type ImageRef, parseImageReference } from '../../shared/domain/image-ref';

/** A container's image reference as `checkImage` uses it: parsed, with its allowlist key. */
export type ParsedImage =
  | { ok: true; ref: Readonly<ImageRef>; repository: string }
  | { ok: false; message: string };

/** Distinct references kept; past this the memo starts over. */
export const MAX_PARSED_IMAGES = 4096;
/**
 * Longer strings are parsed each time and not kept, so the memo stays under a few MB
 * whatever requests carry (real references are host + 255-character name + tag + digest).
 */
export const MAX_MEMO_LENGTH = 512;

const memo = new Map<string, ParsedImage>();

/**
 * `parseImageReference` once per distinct reference per process. Reviews repeat the same few
 * references (every Pod of a ReplicaSet, every rollout of a Deployment), and parsing them cost
 * more than the rest of the decision: regular expressions, slices, a key string per image.
 * Reused strings also keep their hash, so the allowlist lookups that follow are cheaper.
 * Bounded: references cycling through more than the limit only cost what they did before.
 */
export function parseImage(image: string): ParsedImage {
  if (image.length > MAX_MEMO_LENGTH) return parse(image);
  let parsed = memo.get(image);
  if (parsed === undefined) {
    parsed = parse(image);
    if (memo.size >= MAX_PARSED_IMAGES) memo.clear();
    memo.set(image, parsed);
  }
  return parsed;
}

function parse(image: string): ParsedImage {
  try {
    const ref = Object.freeze(parseImageReference(image));
    return Object.freeze({ ok: true, ref, repository: `${ref.registry}/${ref.repository}` });
  } catch (error) {
    return Object.freeze({ ok: false, message: (error as Error).message });
  }
}
