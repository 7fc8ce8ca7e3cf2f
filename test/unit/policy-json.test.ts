import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy } from '../../shared/config';
import { ConfigError, PolicyError } from '../../shared/domain/errors';
import { parsePolicy } from '../../shared/domain/policy-yaml';
import { readPolicyFile } from '../../shared/policy-file';

/**
 * The functions read the policy as the JSON infra renders at synth (shared/policy-file.ts),
 * never YAML. The policy they judge with, and the hash they store in verdicts and the
 * allowlist, must be the ones the YAML gives.
 */
const dir = mkdtempSync(join(tmpdir(), 'rw-policy-json-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

function problems(run: () => unknown): PolicyError {
  try {
    run();
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error('expected a PolicyError');
}

const RICH = `# every section, an anchor, both apiVersion spellings are covered below
apiVersion: registry-watcher/v1
kind: Policy
defaults:
  block: &strict { severity: HIGH, onlyFixable: false, maxCvss: 9.0, exploited: true, epss: 0.5 }
  unscanned: deny
  maxScanAge: 7d
  grace: { CRITICAL: 0d, HIGH: 7d, exploited: 1d }
  signatures:
    required: true
    keyless:
      - issuer: https://token.actions.githubusercontent.com
        subject: "https://github.com/acme/*"
repositories:
  - match: ["prod/*", "prod/**"]
    block: *strict
    unscanned: warn
  - match: "sandbox/**"
    signatures: { required: false }
exceptions:
  - id: CVE-2023-44487
    repositories: ["prod/api"]
    expires: 2027-01-31
    owner: security@acme.example
    reason: "behind an ALB"
  - id: CVE-2024-0001
    digests: ["sha256:${'a'.repeat(64)}"]
    expires: 2027-01-31T12:00:00+02:00
    owner: "é ünïcode owner"
    reason: "quotes \\" and \\\\ backslashes"
`;

describe('the policy the functions read (rendered JSON)', () => {
  it.each([
    // Hashes printed by the YAML loader before the functions read JSON (commit 096f35c):
    // verdicts and allowlists already stored under them must not change.
    [
      'infra/policy.yaml',
      'sha256:5e8e7bb230203f0b445a108aaddd36a66a43bf4b8601bb8fcf052095a84f36e4',
    ],
    [
      'docs/examples/policy-signatures-required.yaml',
      'sha256:e67294b7115f3ac6378e7e35339dbfc38e944cbdd6c296f5be8563ce68aae76a',
    ],
    [
      'test/package/consumer/policy.yaml',
      'sha256:664c894c812bc86dcab10856052e12e4177fbdb9418de8b904f933461ff893a1',
    ],
  ])('GIVEN %s THEN the JSON gives the same policy and the same hash as before', (file, hash) => {
    const { policy, json } = readPolicyFile(file);
    expect(policy.hash).toBe(hash);
    const fromJson = loadPolicy({ POLICY_FILE: write('policy.json', json) });
    expect(fromJson.hash).toBe(hash);
    expect(fromJson).toEqual(policy);
  });

  it('GIVEN every section, anchors, dates, date-times and escapes THEN JSON and YAML agree', () => {
    const { policy, json } = readPolicyFile(write('rich.yaml', RICH));
    const fromJson = loadPolicy({ POLICY_JSON: json });
    expect(fromJson).toEqual({ ...policy, warnings: fromJson.warnings });
    expect(fromJson.hash).toBe(parsePolicy(RICH).hash);
    expect(fromJson.exceptions.map((e) => e.expiresAt)).toEqual([
      '2027-02-01T00:00:00.000Z',
      '2027-01-31T10:00:00.000Z',
    ]);
  });

  it('GIVEN formatting and comments changed THEN the JSON is the same bytes; a changed value changes them', () => {
    const a = readPolicyFile(
      write(
        'a.yaml',
        'apiVersion: registry-watcher/v1\nkind: Policy\ndefaults: { unscanned: warn }\n',
      ),
    );
    const b = readPolicyFile(
      write(
        'b.yaml',
        '# note\nkind: Policy\napiVersion: registry-watcher/v1\ndefaults:\n  unscanned:   warn\n',
      ),
    );
    const c = readPolicyFile(
      write(
        'c.yaml',
        'apiVersion: registry-watcher/v1\nkind: Policy\ndefaults: { unscanned: allow }\n',
      ),
    );
    expect(b.json).toBe(a.json);
    expect(c.json).not.toBe(a.json);
    expect(JSON.parse(a.json)).toEqual({
      apiVersion: 'registry-watcher/v1',
      kind: 'Policy',
      defaults: { unscanned: 'warn' },
    });
  });

  it('GIVEN JSON the schema refuses THEN the same problems as in YAML, by path (JSON has no lines)', () => {
    const yaml = problems(() =>
      parsePolicy(
        'apiVersion: registry-watcher/v1\nkind: Policy\ndefaults:\n  unscaned: deny\n  maxScanAge: 7 days\n',
      ),
    );
    const json = problems(() =>
      loadPolicy({
        POLICY_JSON: JSON.stringify({
          apiVersion: 'registry-watcher/v1',
          kind: 'Policy',
          defaults: { unscaned: 'deny', maxScanAge: '7 days' },
        }),
      }),
    );
    const byPath = (e: PolicyError) => e.issues.map((i) => `${i.path}: ${i.message}`).sort();
    expect(byPath(json)).toEqual(byPath(yaml));
    expect(byPath(json)).toContain('defaults: unknown field "unscaned"');
    expect(json.issues.every((i) => i.file === 'POLICY_JSON' && i.line === 1)).toBe(true);
  });

  it('GIVEN a file that is not JSON (a YAML policy left in place) THEN a PolicyError that says so', () => {
    const error = problems(() =>
      loadPolicy({
        POLICY_FILE: write('old.yaml', 'apiVersion: registry-watcher/v1\nkind: Policy\n'),
      }),
    );
    expect(error.issues[0]?.message).toMatch(
      /^not JSON \(.*\): the functions read the JSON infra renders/,
    );
  });

  it('GIVEN no policy or a missing file THEN a ConfigError naming what to set', () => {
    expect(() => loadPolicy({})).toThrow(ConfigError);
    expect(() => loadPolicy({})).toThrow(/POLICY_FILE .* or POLICY_JSON/);
    expect(() => loadPolicy({ POLICY_FILE: join(dir, 'absent.json') })).toThrow(
      /cannot read policy file .*absent\.json/,
    );
  });
});
