/**
 * A `.sig` signature carries no key hint, so the verifier tries every key of the rule.
 * Time per signature that no trusted key verifies (the worst case), by number of keys, up
 * to the policy's bound (POLICY_LIMITS.maxKeysPerRule). Side by side in one run.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { ANNOTATION, legacySignatureBundle } from '../shared/adapters/sigstore/cosign-legacy';
import { type TrustedKey, verifyBundleWithTrust } from '../shared/adapters/sigstore/verify';
import { POLICY_LIMITS } from '../shared/domain/policy-bounds';
import { fmt } from './support/measure';

const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();
const newKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

export async function run(args: string[] = []): Promise<void> {
  const rounds = Number(args[0] ?? 50);
  const payload = Buffer.from('{"critical":{"image":{"docker-manifest-digest":"sha256:1"}}}');
  const signature = sign('sha256', payload, newKey().privateKey).toString('base64');
  const bundle = legacySignatureBundle({
    payload,
    annotations: { [ANNOTATION.signature]: signature },
  });
  const trusted: TrustedKey[] = Array.from({ length: POLICY_LIMITS.maxKeysPerRule }, (_, i) => ({
    name: `k${i}`,
    publicKeyPem: pem(newKey().publicKey),
  }));
  const counts = [1, 8, POLICY_LIMITS.maxKeysPerRule];
  const attempt = (keys: number) => () => {
    try {
      verifyBundleWithTrust(
        bundle,
        { keys: trusted.slice(0, keys), keyless: [] },
        { bytes: payload },
      );
      throw new Error('an untrusted signature verified');
    } catch (error) {
      if ((error as { code?: string }).code !== 'KEY_UNTRUSTED') throw error;
    }
  };
  const times = new Map<number, number[]>(counts.map((n) => [n, []]));
  for (const n of counts) attempt(n)(); // parse each key once, as a warm container has
  for (let round = 0; round < rounds; round++) {
    for (const n of counts) {
      // CPU time, not wall time: on a shared machine a longer task is preempted more often
      const start = process.cpuUsage();
      for (let i = 0; i < 10; i++) attempt(n)();
      const used = process.cpuUsage(start);
      times.get(n)?.push((used.user + used.system) / 10_000);
    }
  }
  const median = (n: number) => {
    const sorted = [...(times.get(n) ?? [])].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  };
  for (const n of counts) {
    console.log(
      `${`${n} trusted key(s), signature none verifies`.padEnd(48)} ${fmt(median(n), 3).padStart(8)} ms`,
    );
  }
  const most = POLICY_LIMITS.maxKeysPerRule;
  console.log(
    `ratio ${most} keys = ${fmt(median(most) / median(1))}x one key's time per hint-less signature (CPU time, median of ${rounds} interleaved rounds of 10)`,
  );
}
