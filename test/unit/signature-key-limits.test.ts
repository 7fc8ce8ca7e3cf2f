import { generateKeyPairSync } from 'node:crypto';
import { settingsFor } from '../../shared/domain/policy';
import { POLICY_LIMITS } from '../../shared/domain/policy-bounds';
import { parsePolicy } from '../../shared/domain/policy-yaml';

const pems = Array.from({ length: 40 }, () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString(),
);
const keyList = (from: number, count: number) =>
  pems
    .slice(from, from + count)
    .map((pem, i) => `{ name: k${from + i}, publicKey: ${JSON.stringify(pem)} }`)
    .join(', ');
const head = 'apiVersion: registry-watcher.io/v1\nkind: Policy\n';

/** A hint-less `.sig` signature is tried against every key of its rule: the rule is bounded. */
describe('signature keys per rule', () => {
  it('accepts 32 keys in a rule and uses them all', () => {
    const policy = parsePolicy(`${head}repositories:
  - match: "prod/**"
    signatures: { required: true, keys: [${keyList(0, 32)}] }
`);
    expect(
      settingsFor(policy, { registry: 'ghcr.io', repository: 'prod/api' }).signatures.keys,
    ).toHaveLength(32);
  });

  it('refuses a 33rd key with its place in the file', () => {
    const text = `${head}defaults:\n  signatures: { keys: [${keyList(0, 33)}] }\n`;
    expect(() => parsePolicy(text, 'big.yaml')).toThrow(
      expect.objectContaining({
        issues: [
          expect.objectContaining({
            file: 'big.yaml',
            line: 4,
            path: 'defaults.signatures.keys',
            message: `33 keys, over the 32 a signature rule may trust: a signature without a key hint is tried against each`,
          }),
        ],
      }),
    );
  });

  it('counts each key once across rules; past 256 distinct keys the policy is refused', () => {
    const kms = (n: number) =>
      `{ name: kms${n}, kms: "arn:aws:kms:eu-west-1:123456789012:key/k${n}" }`;
    const rules = (distinctPerRule: number) =>
      Array.from({ length: 9 }, (_, r) => {
        const keys = Array.from({ length: 29 }, (_, i) => kms((r * distinctPerRule + i) % 261));
        return `  - match: "team${r}/**"\n    signatures: { keys: [${keys.join(', ')}] }\n`;
      }).join('');
    // 9 rules of 29 keys = 261 entries; overlapping (10 new per rule): 109 distinct, allowed
    expect(() => parsePolicy(`${head}repositories:\n${rules(10)}`)).not.toThrow();
    // disjoint: 261 distinct keys
    expect(() => parsePolicy(`${head}repositories:\n${rules(29)}`, 'many.yaml')).toThrow(
      expect.objectContaining({
        issues: [
          expect.objectContaining({
            path: 'repositories',
            message: `261 distinct signature keys in the policy, over ${POLICY_LIMITS.maxKeys}: the verifier keeps that many parsed; share keys between rules`,
          }),
        ],
      }),
    );
  });
});
