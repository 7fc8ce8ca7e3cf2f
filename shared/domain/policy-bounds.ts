import { type Document, isAlias, isCollection, isPair, isScalar, type Node } from 'yaml';

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

export interface ExpansionProblem {
  message: string;
  /** Offset of the node that crossed the limit. */
  offset: number;
}

/**
 * Counts what the document expands to, each anchored node once (memoised), so a billion
 * laughs is measured in microseconds and refused, while an anchor reused 150 times costs
 * 150 times its size and passes. The yaml library's own maxAliasCount multiplies uses by
 * the aliases inside the anchor, which refused that normal policy at 100.
 */
export function checkExpansion(doc: Document): ExpansionProblem | undefined {
  const sizes = new Map<Node, number>();
  let aliases = 0;
  let problem: ExpansionProblem | undefined;
  const size = (node: unknown, depth: number): number => {
    if (problem) return 0;
    if (isPair(node)) return size(node.key, depth) + size(node.value, depth);
    if (isAlias(node)) {
      aliases += 1;
      if (aliases > POLICY_LIMITS.maxAliases) {
        problem = {
          message: `more than ${POLICY_LIMITS.maxAliases} aliases`,
          offset: node.range?.[0] ?? 0,
        };
        return 0;
      }
      const target = node.resolve(doc);
      return target ? (sizes.get(target) ?? 1) : 1;
    }
    if (isScalar(node) || !isCollection(node)) return 1;
    if (depth > POLICY_LIMITS.maxDepth) {
      problem = {
        message: `nested deeper than ${POLICY_LIMITS.maxDepth} levels`,
        offset: node.range?.[0] ?? 0,
      };
      return 0;
    }
    let total = 1;
    for (const item of node.items) total += size(item, depth + 1);
    // An anchor's size is known once its node is done; aliases after it reuse the figure.
    if (node.anchor) sizes.set(node, total);
    return total;
  };
  const total = size(doc.contents, 0);
  if (!problem && total > POLICY_LIMITS.maxExpandedNodes) {
    problem = {
      message: `expands to ${total} nodes through its aliases, over ${POLICY_LIMITS.maxExpandedNodes} (a "billion laughs"?)`,
      offset: 0,
    };
  }
  return problem;
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
