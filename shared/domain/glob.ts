/**
 * Globs for policy matching. Repository globs follow path semantics (`*` stays within one
 * `/` segment, `**` crosses them, as in Harbor and Kyverno); identity globs (certificate
 * subjects, which are URLs) let `*` match anything.
 */
export type GlobKind = 'path' | 'text';

const cache = new Map<string, RegExp>();

export function globToRegExp(glob: string, kind: GlobKind): RegExp {
  const cacheKey = `${kind}\u0000${glob}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === '*') {
      const double = glob[i + 1] === '*';
      if (double) i++;
      source += kind === 'text' || double ? '.*' : '[^/]*';
    } else if (char === '?') {
      source += kind === 'text' ? '.' : '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  const regexp = new RegExp(`^${source}$`);
  cache.set(cacheKey, regexp);
  return regexp;
}

export function matchesGlob(value: string, glob: string, kind: GlobKind = 'path'): boolean {
  return globToRegExp(glob, kind).test(value);
}

export function matchesAnyGlob(
  value: string,
  globs: readonly string[],
  kind: GlobKind = 'path',
): boolean {
  return globs.some((glob) => matchesGlob(value, glob, kind));
}
