/**
 * Registry hosts as the container runtime reaches them. containerd takes the domain of a
 * reference as written (core/remotes/docker/config/hosts.go: `https://<host>/v2`, and for
 * `localhost` without a port or with 443, https too) and Go's dialer reads the port with
 * `net.parsePort` (leading zeros accepted, past 65535 "invalid port") and the IP literal
 * with `net.ParseIP`. Spellings that reach the same endpoint are one key here; spellings
 * the runtime cannot reach are errors. Pure.
 */

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['index.docker.io', 'registry-1.docker.io', 'docker.io']);

/** distribution/reference regexp.go `domainNameComponent`, `domainName`, `ipv6address`. */
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*$`);
const IPV6_LITERAL = /^\[[a-fA-F0-9:]+\]$/;
const PORT = /^[0-9]+$/;
/** A last label that inet_aton would read as a number (decimal, octal or 0x hex). */
const NUMERIC_LABEL = /^(?:[0-9]+|0x[0-9a-f]*)$/i;
const IPV4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/** Splits `host[:port]` (`[v6]:port` too); undefined when it is not of that shape. */
function splitHostPort(text: string): { host: string; port?: string } | undefined {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return undefined;
    const rest = text.slice(close + 1);
    if (rest === '') return { host: text };
    if (!rest.startsWith(':')) return undefined;
    return { host: text.slice(0, close + 1), port: rest.slice(1) };
  }
  const colon = text.lastIndexOf(':');
  return colon < 0 ? { host: text } : { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

/** Eight 16-bit groups of an IPv6 text form (RFC 4291 §2.2 forms 1 and 2), or undefined. */
export function parseIpv6Groups(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  const all = [...head, ...tail];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  if (halves.length === 1 ? all.length !== 8 : all.length > 7) return undefined;
  const zeros = new Array<number>(8 - all.length).fill(0);
  return [...head, ...zeros, ...tail].map((g) =>
    typeof g === 'number' ? g : Number.parseInt(g, 16),
  );
}

/** RFC 5952 §4: lower case, no leading zeros, the longest run (>= 2) of zero groups as `::`. */
export function formatIpv6(groups: readonly number[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

export type HostResult = { ok: true; host: string } | { ok: false; reason: string };

/**
 * The canonical registry key of a reference's domain (already known to be a domain, not a
 * path component): lower case; port as a number, none for 443 (https default, localhost
 * included); IPv6 in RFC 5952 form, IPv4-mapped IPv6 as the IPv4 address Go dials;
 * Docker Hub's aliases as `docker.io`. Errors for what the runtime cannot dial.
 */
export function canonicalHost(domain: string): HostResult {
  const split = splitHostPort(domain);
  if (!split) return { ok: false, reason: `registry host "${domain}" is not a valid host[:port]` };
  let host: string;
  if (split.host.startsWith('[')) {
    if (!IPV6_LITERAL.test(split.host)) {
      return { ok: false, reason: `registry host "${domain}" is not a valid host[:port]` };
    }
    const groups = parseIpv6Groups(split.host.slice(1, -1));
    if (!groups) {
      return { ok: false, reason: `registry host "${split.host}" is not an IPv6 address` };
    }
    const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
    host = mapped
      ? [groups[6] ?? 0, groups[7] ?? 0].flatMap((g) => [g >> 8, g & 0xff]).join('.')
      : `[${formatIpv6(groups)}]`;
  } else {
    if (!DOMAIN_NAME.test(split.host)) {
      return { ok: false, reason: `registry host "${domain}" is not a valid host[:port]` };
    }
    host = split.host.toLowerCase();
    const labels = host.split('.');
    if (NUMERIC_LABEL.test(labels[labels.length - 1] ?? '')) {
      const dottedQuad =
        labels.length === 4 && labels.every((l) => IPV4_OCTET.test(l) && Number(l) <= 255);
      if (!dottedQuad) {
        return {
          ok: false,
          reason: `registry host "${split.host}" is numeric but not a dotted-quad IPv4 address (no leading zeros): resolvers read such hosts differently`,
        };
      }
    }
  }
  let port = '';
  if (split.port !== undefined) {
    if (!PORT.test(split.port)) {
      return { ok: false, reason: `registry host "${domain}" is not a valid host[:port]` };
    }
    const digits = split.port.replace(/^0+(?=.)/, '');
    const value = digits.length > 5 ? Number.POSITIVE_INFINITY : Number(digits);
    if (value < 1 || value > 65535) {
      return {
        ok: false,
        reason: `registry port "${split.port}" is out of range (1-65535): the runtime cannot dial it`,
      };
    }
    if (value !== 443) port = `:${value}`;
  }
  const key = `${host}${port}`;
  return { ok: true, host: DOCKER_HUB_ALIASES.has(key) ? DOCKER_HUB : key };
}

/**
 * Lenient form for registry globs in settings (may hold `*`): lower case, a numeric port
 * without leading zeros and without `:443`, Docker Hub aliases folded. Never throws.
 */
export function canonicalRegistry(host: string): string {
  const strict = canonicalHost(host);
  if (strict.ok) return strict.host;
  let canonical = host.toLowerCase();
  canonical = canonical.replace(/:0*([0-9]+)$/, ':$1');
  if (canonical.endsWith(':443')) canonical = canonical.slice(0, -4);
  return DOCKER_HUB_ALIASES.has(canonical) ? DOCKER_HUB : canonical;
}
