/**
 * Globs for policy matching. Repository globs follow path semantics (`*` stays within one
 * `/` segment, `**` crosses them, as in Harbor and Kyverno); identity globs (certificate
 * subjects, which are URLs) let `*` match anything.
 *
 * Matched by simulating the glob as a set of positions over the value, one character at a
 * time: at most (value length + 1) x (glob length + 1) steps, whatever the glob. A
 * backtracking regex (`^a.*a.*…b$`) takes time exponential in the number of stars there.
 */
export type GlobKind = 'path' | 'text';

/** A literal character, `?` (one character) or a star (any run, or a run without `/`). */
type Token =
  | { kind: 'char'; char: string }
  | { kind: 'one' }
  | { kind: 'star'; crossesSlash: boolean };

/** What a regex `.` refuses: text wildcards have always stopped at a line end. */
const LINE_END = new Set(['\n', '\r', '\u2028', '\u2029']);

/** `?`: one UTF-16 unit, never `/` in a path, never a line end in text. */
function wildcardTakes(char: string, kind: GlobKind): boolean {
  return kind === 'text' ? !LINE_END.has(char) : char !== '/';
}

const cache = new Map<string, Token[]>();

function tokensOf(glob: string, kind: GlobKind): Token[] {
  const cacheKey = `${kind}\u0000${glob}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  const tokens: Token[] = [];
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === '*') {
      const double = glob[i + 1] === '*';
      if (double) i++;
      tokens.push({ kind: 'star', crossesSlash: kind === 'text' || double });
    } else if (char === '?') {
      tokens.push({ kind: 'one' });
    } else {
      tokens.push({ kind: 'char', char });
    }
  }
  cache.set(cacheKey, tokens);
  return tokens;
}

/** Steps taken by matches, for callers that bound or measure the work (tests, benchmarks). */
export interface GlobSteps {
  steps: number;
}

export function matchesGlob(
  value: string,
  glob: string,
  kind: GlobKind = 'path',
  counter?: GlobSteps,
): boolean {
  const tokens = tokensOf(glob, kind);
  if (tokens.every((t) => t.kind === 'char')) {
    if (counter) counter.steps += value.length + 1;
    return value === glob;
  }
  const size = tokens.length + 1;
  let current = new Uint8Array(size);
  let next = new Uint8Array(size);
  let steps = 0;
  // A star may match nothing: every position reached also reaches the ones after its stars.
  const close = (set: Uint8Array) => {
    for (let i = 0; i < tokens.length; i++) {
      steps++;
      if (set[i] === 1 && tokens[i]?.kind === 'star') set[i + 1] = 1;
    }
  };
  current[0] = 1;
  close(current);
  for (let at = 0; at < value.length; at++) {
    const char = value[at] as string;
    next.fill(0);
    let alive = false;
    for (let i = 0; i < tokens.length; i++) {
      steps++;
      if (current[i] !== 1) continue;
      const token = tokens[i] as Token;
      if (token.kind === 'star') {
        if (token.crossesSlash ? !LINE_END.has(char) : char !== '/') {
          next[i] = 1;
          alive = true;
        }
      } else if (token.kind === 'char' ? token.char === char : wildcardTakes(char, kind)) {
        next[i + 1] = 1;
        alive = true;
      }
    }
    [current, next] = [next, current];
    if (!alive) break;
    close(current);
  }
  if (counter) counter.steps += steps;
  return current[tokens.length] === 1;
}

export function matchesAnyGlob(
  value: string,
  globs: readonly string[],
  kind: GlobKind = 'path',
): boolean {
  return globs.some((glob) => matchesGlob(value, glob, kind));
}
