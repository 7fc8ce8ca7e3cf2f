/**
 * Limits on the work one policy file can cause. A real policy is a few KiB with a handful
 * of anchors; these are far above that and far below what hurts.
 */
export const POLICY_LIMITS = {
  /** Bytes of the file (and characters of the text). */
  maxBytes: 256 * 1024,
  /** Alias nodes (`*name`) in the document. */
  maxAliases: 1000,
  /** Nodes of the document once every alias is expanded: what toJS would build. */
  maxExpandedNodes: 100_000,
  /** Nesting of maps and lists. */
  maxDepth: 64,
  /** Problems reported one by one; the rest are counted. */
  maxIssues: 50,
  /** Characters of one glob (repository match, exception scope, keyless subject). */
  maxGlobLength: 1024,
  /** `*`, `**` and `?` in one glob: real globs have one or two. */
  maxGlobWildcards: 16,
  /**
   * Keys of one signature rule: a `.sig` signature carries no key hint, so each key is
   * tried in turn (docs/signatures.md, "Bounds").
   */
  maxKeysPerRule: 32,
  /** Distinct keys in the whole policy: the verifier keeps this many parsed (verify.ts). */
  maxKeys: 256,
} as const;

/**
 * Why a glob is refused, or undefined. Matching is linear (shared/domain/glob.ts), so these
 * bound the work per match to value length x glob length, not backtracking.
 */
export function globProblem(glob: string): string | undefined {
  if (glob.length > POLICY_LIMITS.maxGlobLength) {
    return `the glob is ${glob.length} characters, over ${POLICY_LIMITS.maxGlobLength}`;
  }
  const wildcards = glob.match(/\*\*?|\?/g)?.length ?? 0;
  if (wildcards > POLICY_LIMITS.maxGlobWildcards) {
    return `the glob has ${wildcards} wildcards (*, ** or ?), over ${POLICY_LIMITS.maxGlobWildcards}`;
  }
  return undefined;
}

/**
 * Decodes UTF-8 strictly: a byte that is not UTF-8 is an error at its offset, not a silent
 * U+FFFD that a policy could then match against. Returns the offset of the first bad byte.
 */
export function decodeUtf8(bytes: Uint8Array): { text: string } | { badOffset: number } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes) };
  } catch {
    // The longest prefix that decodes (a cut at its end is allowed in stream mode).
    let good = 0;
    let bad = bytes.length;
    while (bad - good > 1) {
      const mid = (good + bad) >>> 1;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
        good = mid;
      } catch {
        bad = mid;
      }
    }
    // Byte `good` breaks the sequence: point at that sequence's lead byte.
    let at = good;
    while (at > 0 && good - at < 3 && ((bytes[at - 1] ?? 0) & 0xc0) === 0x80) at -= 1;
    if (at > 0 && (bytes[at - 1] ?? 0) >= 0xc0) at -= 1;
    else at = good;
    return { badOffset: at };
  }
}
