/**
 * A nested-quantifier (star-height) check for policy regular expressions (`subjectRegExp`): a repeated part that
 * itself contains a repetition (`(a+)+`, `(.*a){8}`, `((ab)*c)*`) lets a backtracking engine
 * such as V8's try exponentially or polynomially many ways on a near-miss. This is safe-regex's
 * check (star height <= 1), a little stricter: `?` and `{m,n}` count as repetition inside a
 * repeated part, since `(a?){20}` backtracks as badly. Like safe-regex it does not catch
 * overlapping alternatives under one repetition (`(a|a)*`). Pure; reads the pattern text.
 */

/** Longest pattern accepted: identities are URLs, not programs. */
export const MAX_REGEX_LENGTH = 1024;

interface Frame {
  /** The group holds a quantifier that matches a variable count (`?`, `*`, `+`, `{1,3}`). */
  repeats: boolean;
}

/** Why the pattern is unsafe, or undefined when its star height is at most 1. */
export function nestedQuantifier(source: string): string | undefined {
  if (source.length > MAX_REGEX_LENGTH) {
    return `longer than ${MAX_REGEX_LENGTH} characters`;
  }
  const stack: Frame[] = [{ repeats: false }];
  /** Whether the last atom (what a quantifier would apply to) holds a repetition. */
  let last: { repeats: boolean } | undefined;
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    const frame = stack[stack.length - 1] as Frame;
    if (c === '\\') {
      last = { repeats: false };
      i += 2;
      continue;
    }
    if (c === '[') {
      i += 1;
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
      i += 1;
      last = { repeats: false };
      continue;
    }
    if (c === '(') {
      stack.push({ repeats: false });
      i += 1;
      if (source[i] === '?') {
        // (?:  (?=  (?!  (?<=  (?<!  (?<name>
        i += 1;
        if (source[i] === '<' && source[i + 1] !== '=' && source[i + 1] !== '!') {
          while (i < source.length && source[i] !== '>') i += 1;
        }
        i += 1;
        if (source[i - 1] === '<') i += 1;
      }
      last = undefined;
      continue;
    }
    if (c === ')') {
      const closed = stack.length > 1 ? (stack.pop() as Frame) : { repeats: false };
      const parent = stack[stack.length - 1] as Frame;
      parent.repeats ||= closed.repeats;
      last = { repeats: closed.repeats };
      i += 1;
      continue;
    }
    const quantifier = readQuantifier(source, i);
    if (quantifier) {
      if (quantifier.max > 1 && last?.repeats) {
        return `a repeated part holds another repetition near "${source.slice(Math.max(0, i - 12), quantifier.end)}" (nested quantifiers backtrack exponentially)`;
      }
      if (quantifier.variable) frame.repeats = true;
      last = { repeats: (last?.repeats ?? false) || quantifier.variable };
      i = quantifier.end;
      continue;
    }
    last = c === '|' ? undefined : { repeats: false };
    i += 1;
  }
  return undefined;
}

function readQuantifier(
  source: string,
  i: number,
): { max: number; variable: boolean; end: number } | undefined {
  const c = source[i];
  const lazy = (end: number) => (source[end] === '?' ? end + 1 : end);
  const any = Number.POSITIVE_INFINITY;
  if (c === '*' || c === '+') return { max: any, variable: true, end: lazy(i + 1) };
  if (c === '?') return { max: 1, variable: true, end: lazy(i + 1) };
  if (c !== '{') return undefined;
  const match = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i, i + 24));
  if (!match) return undefined;
  const min = Number(match[1]);
  const max = match[2] === undefined ? min : match[3] ? Number(match[3]) : any;
  return { max, variable: max !== min, end: lazy(i + match[0].length) };
}
