import type { KeyObject } from 'node:crypto';

/**
 * ECDSA P-256 verification over a digest the caller already has (`verify-bundle sha256:…`).
 * Node's crypto always hashes the input itself, so the curve arithmetic is done here;
 * it runs once per CLI call, so plain affine BigInt arithmetic is fast enough.
 */
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const A = P - 3n;
const G: Point = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};

type Point = { x: bigint; y: bigint } | null;

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

function add(p: Point, q: Point): Point {
  if (!p) return q;
  if (!q) return p;
  if (p.x === q.x && mod(p.y + q.y, P) === 0n) return null;
  const slope =
    p.x === q.x && p.y === q.y
      ? mod((3n * p.x * p.x + A) * inverse(2n * p.y, P), P)
      : mod((q.y - p.y) * inverse(q.x - p.x, P), P);
  const x = mod(slope * slope - p.x - q.x, P);
  return { x, y: mod(slope * (p.x - x) - p.y, P) };
}

function multiply(k: bigint, point: Point): Point {
  let result: Point = null;
  let addend = point;
  for (let n = k; n > 0n; n >>= 1n) {
    if (n & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}

const toBigInt = (bytes: Buffer) =>
  bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);

/** r and s of a DER `SEQUENCE { INTEGER r, INTEGER s }`, or undefined when malformed. */
function parseDerSignature(der: Buffer): { r: bigint; s: bigint } | undefined {
  // ECDSA P-256 signatures are under 128 bytes: every length is one short-form byte.
  if (der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const integers: bigint[] = [];
  let offset = 2;
  while (offset < der.length && integers.length < 2) {
    const length = der[offset + 1];
    if (der[offset] !== 0x02 || length === undefined || length > 0x7f) return undefined;
    const value = der.subarray(offset + 2, offset + 2 + length);
    if (value.length !== length) return undefined;
    integers.push(toBigInt(value));
    offset += 2 + length;
  }
  const [r, s] = integers;
  return offset === der.length && r !== undefined && s !== undefined ? { r, s } : undefined;
}

export function verifyPrehashedP256(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) return false;
  const q: Point = {
    x: toBigInt(Buffer.from(jwk.x, 'base64url')),
    y: toBigInt(Buffer.from(jwk.y, 'base64url')),
  };
  const sig = parseDerSignature(signature);
  if (!sig || sig.r <= 0n || sig.r >= N || sig.s <= 0n || sig.s >= N) return false;
  const e = toBigInt(digest.subarray(0, 32));
  const w = inverse(sig.s, N);
  const point = add(multiply(mod(e * w, N), G), multiply(mod(sig.r * w, N), q));
  return point !== null && mod(point.x, N) === sig.r;
}
