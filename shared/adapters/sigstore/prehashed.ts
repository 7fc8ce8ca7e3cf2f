import type { KeyObject } from 'node:crypto';

/**
 * ECDSA P-256 verification over a digest the caller already has (`verify-bundle sha256:…`).
 * Node's crypto always hashes the input itself, so the curve arithmetic is done here;
 * it runs once per CLI call, so BigInt arithmetic in Jacobian coordinates is fast enough.
 */
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};

type Point = { x: bigint; y: bigint } | null;
/** Jacobian coordinates (x = X/Z², y = Y/Z³): no modular inversion per step. */
type Jacobian = { X: bigint; Y: bigint; Z: bigint } | null;

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

// Doubling for a = -3 (dbl-2001-b) and general addition (add-2007-bl), all mod P.
function double(p: Jacobian): Jacobian {
  if (!p || p.Y === 0n) return null;
  const delta = mod(p.Z * p.Z, P);
  const gamma = mod(p.Y * p.Y, P);
  const beta = mod(p.X * gamma, P);
  const alpha = mod(3n * (p.X - delta) * (p.X + delta), P);
  const X = mod(alpha * alpha - 8n * beta, P);
  const Z = mod((p.Y + p.Z) * (p.Y + p.Z) - gamma - delta, P);
  const Y = mod(alpha * (4n * beta - X) - 8n * gamma * gamma, P);
  return { X, Y, Z };
}

function add(p: Jacobian, q: Jacobian): Jacobian {
  if (!p) return q;
  if (!q) return p;
  const z1z1 = mod(p.Z * p.Z, P);
  const z2z2 = mod(q.Z * q.Z, P);
  const u1 = mod(p.X * z2z2, P);
  const u2 = mod(q.X * z1z1, P);
  const s1 = mod(p.Y * q.Z * z2z2, P);
  const s2 = mod(q.Y * p.Z * z1z1, P);
  const h = mod(u2 - u1, P);
  const r = mod(s2 - s1, P);
  if (h === 0n) return r === 0n ? double(p) : null;
  const hh = mod(h * h, P);
  const hhh = mod(h * hh, P);
  const v = mod(u1 * hh, P);
  const X = mod(r * r - hhh - 2n * v, P);
  const Y = mod(r * (v - X) - s1 * hhh, P);
  return { X, Y, Z: mod(p.Z * q.Z * h, P) };
}

/** u1·G + u2·Q in one pass over the bits (Shamir's trick). */
function linearCombination(u1: bigint, u2: bigint, q: { x: bigint; y: bigint }): Point {
  const g: Jacobian = { X: G.x, Y: G.y, Z: 1n };
  const jq: Jacobian = { X: q.x, Y: q.y, Z: 1n };
  const gq = add(g, jq);
  let result: Jacobian = null;
  for (let bit = 255n; bit >= 0n; bit--) {
    result = double(result);
    const a = (u1 >> bit) & 1n;
    const b = (u2 >> bit) & 1n;
    if (a && b) result = add(result, gq);
    else if (a) result = add(result, g);
    else if (b) result = add(result, jq);
  }
  if (!result) return null;
  const zInv = inverse(result.Z, P);
  const zInv2 = mod(zInv * zInv, P);
  return { x: mod(result.X * zInv2, P), y: mod(result.Y * zInv2 * zInv, P) };
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
  const q = {
    x: toBigInt(Buffer.from(jwk.x, 'base64url')),
    y: toBigInt(Buffer.from(jwk.y, 'base64url')),
  };
  const sig = parseDerSignature(signature);
  if (!sig || sig.r <= 0n || sig.r >= N || sig.s <= 0n || sig.s >= N) return false;
  const e = toBigInt(digest.subarray(0, 32));
  const w = inverse(sig.s, N);
  const point = linearCombination(mod(e * w, N), mod(sig.r * w, N), q);
  return point !== null && mod(point.x, N) === sig.r;
}
