import { BUILT_IN_DEFAULTS } from '../../shared/domain/policy';
import { SETTINGS_SECTIONS } from '../../shared/domain/policy-schema';
import { policyOf } from '../support/builders';

describe('settings merge by section, as the schema says', () => {
  const policy = policyOf(`
defaults:
  block: { severity: MEDIUM, maxCvss: 9 }
  grace: { HIGH: 7d }
  signatures: { required: true, keys: [{ name: ci, publicKey: "-----BEGIN PUBLIC KEY-----x" }] }
repositories:
  - match: "prod/*"
    block: { onlyFixable: true }
    grace: { CRITICAL: 1d }
    signatures: { required: false }
    unscanned: warn
`);
  const [prod] = policy.repositories;

  it('an object section merges key by key over the defaults', () => {
    expect(prod?.settings.block).toEqual({ severity: 'MEDIUM', maxCvss: 9, onlyFixable: true });
    expect(prod?.settings.signatures).toEqual({
      required: false,
      keys: [{ name: 'ci', publicKey: '-----BEGIN PUBLIC KEY-----x' }],
      keyless: [],
    });
  });

  it('a record section merges key by key; a value section replaces', () => {
    expect(prod?.settings.grace).toEqual({ HIGH: '7d', CRITICAL: '1d' });
    expect(prod?.settings.unscanned).toBe('warn');
    expect(prod?.settings.maxScanAge).toBe('7d');
    expect(policy.defaults.unscanned).toBe('deny');
  });

  it('every schema section has a built-in default, and no default lacks a section', () => {
    expect(Object.keys(SETTINGS_SECTIONS).sort()).toEqual(Object.keys(BUILT_IN_DEFAULTS).sort());
  });

  it('the merge keeps the hash of a policy that spells a default out', () => {
    const bare = policyOf('repositories: [{ match: "prod/*", block: { severity: HIGH } }]');
    const spelled = policyOf(
      'repositories: [{ match: "prod/*", block: { severity: HIGH }, signatures: { keys: [] } }]',
    );
    expect(spelled.hash).toBe(bare.hash);
  });
});
