import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from 'yaml';
import { PolicyError, type PolicyIssue } from './errors';
import { cappedPolicyError, type Policy, type ValidatedPolicy, validatePolicy } from './policy';
import { decodeUtf8, POLICY_LIMITS } from './policy-bounds';

/**
 * The policy file's YAML side: text to data, with every problem at its line and column.
 * Only what reads policy files imports this (the CLI, `npm start`, the webhook's tools,
 * infra at synth); the Lambda functions read the JSON infra renders from it
 * (policy.ts `validatePolicy`) and so bundle no YAML parser (test/architecture).
 */

/**
 * Parses and validates a policy file. Every problem (YAML syntax or schema) is reported
 * at once, each with file, line and column.
 */
export function parsePolicy(text: string, file = 'policy.yaml'): Policy {
  return readPolicyYaml(text, file).policy;
}

/** parsePolicy, and the validated document besides (infra renders it as JSON). */
function readPolicyYaml(text: string, file = 'policy.yaml'): ValidatedPolicy {
  const at1 = (message: string): PolicyIssue => ({ file, line: 1, column: 1, path: '', message });
  if (text.length > POLICY_LIMITS.maxBytes) {
    throw new PolicyError([
      at1(
        `the policy is ${text.length} characters, over the ${POLICY_LIMITS.maxBytes} a policy may have`,
      ),
    ]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw cappedPolicyError(
      doc.errors.slice(0, POLICY_LIMITS.maxIssues).map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, path: '', message: e.message };
      }),
      doc.errors.length,
    );
  }
  const expansion = checkExpansion(doc);
  if (expansion) {
    const pos = lineCounter.linePos(expansion.offset);
    throw new PolicyError([
      {
        file,
        line: pos.line,
        column: pos.col,
        path: '',
        message: `the policy ${expansion.message}`,
      },
    ]);
  }
  let json: unknown;
  try {
    // Bounded by checkExpansion above, which counts what this builds.
    json = doc.toJS({ maxAliasCount: -1 });
  } catch (error) {
    // Unresolvable or exploding aliases surface only when the document is turned into data.
    throw new PolicyError(
      [{ file, line: 1, column: 1, path: '', message: (error as Error).message }],
      {
        cause: error,
      },
    );
  }
  return validatePolicy(json, file, (path, unknownKey) => {
    let node = nodeAt(doc, path);
    if (unknownKey !== undefined && isMap(node)) {
      const pair = node.items.find(
        (item) => isNode(item.key) && String((item.key as Node).toJSON()) === unknownKey,
      );
      if (pair && isNode(pair.key)) node = pair.key;
    }
    const pos = lineCounter.linePos(node?.range?.[0] ?? 0);
    return { line: pos.line, column: pos.col };
  });
}

/**
 * A policy file's bytes: at most POLICY_LIMITS.maxBytes, strictly UTF-8 (a byte that is not
 * is an error at its line, not a U+FFFD), then parsePolicy.
 */
export function parsePolicyBytes(bytes: Uint8Array, file = 'policy.yaml'): Policy {
  return readPolicyBytes(bytes, file).policy;
}

/** parsePolicyBytes, and the validated document besides. */
export function readPolicyBytes(bytes: Uint8Array, file = 'policy.yaml'): ValidatedPolicy {
  if (bytes.length > POLICY_LIMITS.maxBytes) {
    throw new PolicyError([
      {
        file,
        line: 1,
        column: 1,
        path: '',
        message: `the file is ${bytes.length} bytes, over the ${POLICY_LIMITS.maxBytes} a policy may have`,
      },
    ]);
  }
  const decoded = decodeUtf8(bytes);
  if ('badOffset' in decoded) {
    const before = bytes.subarray(0, decoded.badOffset);
    const line = before.filter((b) => b === 0x0a).length + 1;
    const column = decoded.badOffset - (before.lastIndexOf(0x0a) + 1) + 1;
    throw new PolicyError([
      { file, line, column, path: '', message: 'not UTF-8: save the file as UTF-8' },
    ]);
  }
  return readPolicyYaml(decoded.text, file);
}

/** The deepest YAML node that exists along `path` (a missing key points at its parent). */
function nodeAt(doc: Document, path: (string | number)[]): Node | undefined {
  let node: unknown = doc.contents;
  for (const segment of path) {
    if (!isMap(node) && !isSeq(node)) break;
    const next = node.get(segment, true);
    if (!isNode(next)) break;
    node = next;
  }
  return isNode(node) ? node : undefined;
}

interface ExpansionProblem {
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
function checkExpansion(doc: Document): ExpansionProblem | undefined {
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
