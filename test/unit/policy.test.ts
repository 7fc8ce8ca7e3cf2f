import { PolicyError } from '../../shared/domain/errors';
import { BUILT_IN_DEFAULTS, settingsFor } from '../../shared/domain/policy';
import { parsePolicy } from '../../shared/domain/policy-yaml';
import { loadPolicyFile } from '../../shared/policy-file';

const minimal = 'apiVersion: registry-watcher/v1\nkind: Policy\n';
const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const OTHER_ECR = '210987654321.dkr.ecr.eu-west-1.amazonaws.com';
/** A repository in the first ECR registry. */
const at = (repository: string, registry = ECR) => ({ registry, repository });

function issuesOf(text: string): PolicyError['issues'] {
  try {
    parsePolicy(text, 'p.yaml');
  } catch (error) {
    if (error instanceof PolicyError) return error.issues;
    throw error;
  }
  throw new Error('expected the policy to be rejected');
}

describe('parsePolicy', () => {
  it('fills in the built-in defaults', () => {
    const policy = parsePolicy(minimal);
    expect(policy.defaults).toEqual(BUILT_IN_DEFAULTS);
    expect(policy.repositories).toEqual([]);
    expect(policy.hash).toMatch(/^sha256:[a-f0-9]{64}$/);
  });

  it('reads the shipped policy', () => {
    const policy = loadPolicyFile('infra/policy.yaml');
    expect(policy.defaults.block).toEqual({ severity: 'HIGH', onlyFixable: false, maxCvss: 9 });
    expect(policy.exceptions[0]).toMatchObject({
      id: 'CVE-2023-44487',
      expiresAt: '2027-02-01T00:00:00.000Z',
    });
  });

  it('merges a repository rule over the defaults, field by field', () => {
    const policy = parsePolicy(`${minimal}defaults:
  block: { severity: HIGH, onlyFixable: true }
  grace: { HIGH: 7d }
repositories:
  - match: "prod/*"
    block: { severity: MEDIUM }
    grace: { CRITICAL: 1d }
  - match: ["prod/**", "other"]
    unscanned: allow
`);
    expect(settingsFor(policy, at('prod/api')).block).toEqual({
      severity: 'MEDIUM',
      onlyFixable: true,
    });
    expect(settingsFor(policy, at('prod/api')).grace).toEqual({ HIGH: '7d', CRITICAL: '1d' });
    expect(settingsFor(policy, at('prod/api/v2')).unscanned).toBe('allow');
    expect(settingsFor(policy, at('other')).unscanned).toBe('allow');
    expect(settingsFor(policy, at('dev/api'))).toBe(policy.defaults);
  });

  it('hashes content, not formatting or comments', () => {
    const a = parsePolicy(`${minimal}defaults: { unscanned: warn }\n`);
    const b = parsePolicy(
      `# a comment\nkind: Policy\napiVersion: registry-watcher/v1\ndefaults:\n  unscanned: warn\n`,
    );
    const c = parsePolicy(`${minimal}defaults: { unscanned: allow }\n`);
    expect(a.hash).toBe(b.hash);
    expect(a.hash).not.toBe(c.hash);
  });

  it('lets a date-only expiry last through that UTC day; a date-time is exact', () => {
    const policy = parsePolicy(`${minimal}exceptions:
  - { id: CVE-1, digests: ["sha256:${'b'.repeat(64)}"], expires: 2027-01-31, owner: o, reason: r }
  - { id: CVE-2, repositories: [a], expires: "2027-01-31T12:00:00Z", owner: o, reason: r }
`);
    expect(policy.exceptions.map((e) => e.expiresAt)).toEqual([
      '2027-02-01T00:00:00.000Z',
      '2027-01-31T12:00:00.000Z',
    ]);
  });
});

describe('repository rules and registries', () => {
  const policy = parsePolicy(`${minimal}repositories:
  - match: "prod/*"
    registry: ${ECR}
    unscanned: allow
  - match: "prod/*"
    registry: ["GHCR.io:443", "*.dkr.ecr.us-east-1.amazonaws.com"]
    unscanned: warn
  - match: "shared/**"
    maxScanAge: 1d
`);

  it('narrows a rule to the registries it names', () => {
    expect(settingsFor(policy, at('prod/api')).unscanned).toBe('allow');
    // The same repository in another registry: not this rule; the next one that matches.
    expect(settingsFor(policy, at('prod/api', OTHER_ECR))).toBe(policy.defaults);
    expect(settingsFor(policy, at('prod/api', 'ghcr.io')).unscanned).toBe('warn');
    expect(
      settingsFor(policy, at('prod/api', '123456789012.dkr.ecr.us-east-1.amazonaws.com')).unscanned,
    ).toBe('warn');
    expect(policy.repositories[1]?.registries).toEqual([
      'ghcr.io',
      '*.dkr.ecr.us-east-1.amazonaws.com',
    ]);
  });

  it('matches a rule without a registry in every registry', () => {
    for (const registry of [ECR, OTHER_ECR, 'ghcr.io', '127.0.0.1:5000']) {
      expect(settingsFor(policy, at('shared/a/b', registry)).maxScanAge).toBe('1d');
    }
    expect(policy.repositories[2]).not.toHaveProperty('registries');
  });

  it('hashes a policy without registries as before the field existed', () => {
    // sha256 of infra/policy.yaml before rules could name registries (main at 088bdf7).
    expect(loadPolicyFile('infra/policy.yaml').hash).toBe(
      'sha256:5e8e7bb230203f0b445a108aaddd36a66a43bf4b8601bb8fcf052095a84f36e4',
    );
    const narrowed = parsePolicy(`${minimal}repositories:\n  - { match: a, registry: ghcr.io }\n`);
    expect(narrowed.hash).not.toBe(parsePolicy(`${minimal}repositories:\n  - { match: a }\n`).hash);
  });

  it('refuses a registry with a path, and says where the repository goes', () => {
    expect(
      issuesOf(`${minimal}repositories:\n  - match: "*"\n    registry: ghcr.io/acme\n`),
    ).toEqual([
      expect.objectContaining({
        path: 'repositories[0].registry',
        line: 5,
        message: expect.stringContaining('without a path: the repository goes in match'),
      }),
    ]);
  });

  it('warns when match begins with what reads as a registry host', () => {
    const warned = parsePolicy(
      `${minimal}repositories:\n  - match: "ghcr.io/acme/*"\n  - match: ["team.a/web", "localhost:5000/x"]\n`,
      'p.yaml',
    );
    const hosts = warned.warnings.filter((w) => w.path.startsWith('repositories'));
    expect(hosts.map((w) => [w.path, w.line])).toEqual([
      ['repositories[0].match', 4],
      ['repositories[1].match[1]', 5],
    ]);
    expect(hosts[0]?.message).toContain('write registry: ghcr.io and match: "acme/*"');
    // Still a repository glob: an ECR repository may be named so.
    expect(settingsFor(warned, at('ghcr.io/acme/app')).maxScanAge).toBe('7d');
    expect(warned.repositories[0]?.match).toEqual(['ghcr.io/acme/*']);
  });
});

describe('exploitability rules (block.exploited, block.epss, grace per class)', () => {
  it('reads them, and inherits them into repository rules', () => {
    const policy = parsePolicy(
      `${minimal}defaults:\n  block: { exploited: true, epss: 0.5 }\n  grace: { HIGH: 7d, exploited: 1d, epss: 3d }\nrepositories:\n  - match: "dev/*"\n    block: { exploited: false }\n`,
    );
    expect(policy.defaults.block).toMatchObject({ exploited: true, epss: 0.5 });
    expect(policy.defaults.grace).toEqual({ HIGH: '7d', exploited: '1d', epss: '3d' });
    expect(settingsFor(policy, at('dev/x')).block).toMatchObject({ exploited: false, epss: 0.5 });
  });

  it('leaves the hash of a policy without them unchanged', () => {
    // Absent keys stay absent (canonical JSON drops undefined), so existing hashes hold.
    expect(Object.keys(parsePolicy(minimal).defaults.block).sort()).toEqual([
      'onlyFixable',
      'severity',
    ]);
    expect(parsePolicy(`${minimal}defaults: { block: { epss: 0.5 } }\n`).hash).not.toBe(
      parsePolicy(minimal).hash,
    );
  });

  it.each([
    ['an EPSS over 1', 'block: { epss: 1.5 }', /epss/],
    ['exploited not a boolean', 'block: { exploited: "yes" }', /exploited/],
    [
      'an unknown grace class',
      'grace: { exploitd: 1d }',
      /defaults.grace: unknown field "exploitd"/,
    ],
  ])('rejects %s', (_name, body, message) => {
    const issues = issuesOf(`${minimal}defaults: { ${body} }\n`);
    expect(issues.map((i) => `${i.path}: ${i.message}`).join('\n')).toMatch(message);
  });
});

describe('policy errors carry file, line and column', () => {
  it.each([
    ['YAML syntax', `${minimal}defaults:\n  block: [unclosed\n`, 5, 'p.yaml:'],
    ['wrong apiVersion', 'apiVersion: v2\nkind: Policy\n', 1, 'apiVersion'],
    [
      'unknown severity',
      `${minimal}defaults:\n  block:\n    severity: SEVERE\n`,
      5,
      'expected one of',
    ],
    ['typo in a field', `${minimal}defaults:\n  unscaned: deny\n`, 4, 'unknown field "unscaned"'],
    ['bad duration', `${minimal}defaults:\n  maxScanAge: 1 week\n`, 4, 'duration'],
    [
      'maxCvss out of range',
      `${minimal}defaults:\n  block: { maxCvss: 11 }\n`,
      4,
      'defaults.block.maxCvss',
    ],
    ['duplicate key', `${minimal}kind: Policy\n`, 3, 'Map keys must be unique'],
    [
      'rule without match',
      `${minimal}repositories:\n  - unscanned: warn\n`,
      4,
      'repositories[0].match',
    ],
    [
      'unscoped exception',
      `${minimal}exceptions:\n  - { id: CVE-1, expires: 2027-01-01, owner: o, reason: r }\n`,
      4,
      'must be scoped',
    ],
    [
      'exception without owner',
      `${minimal}exceptions:\n  - id: CVE-1\n    repositories: [a]\n    expires: 2027-01-01\n    reason: r\n`,
      4,
      'exceptions[0].owner',
    ],
    [
      'bad expiry',
      `${minimal}exceptions:\n  - { id: CVE-1, repositories: [a], expires: soon, owner: o, reason: r }\n`,
      4,
      'expected a date',
    ],
    [
      'bad digest',
      `${minimal}exceptions:\n  - { id: CVE-1, digests: [sha256:abc], expires: 2027-01-01, owner: o, reason: r }\n`,
      4,
      'sha256:<64 hex>',
    ],
    [
      'key without PEM',
      `${minimal}defaults:\n  signatures:\n    keys: [{ name: ci, publicKey: nope }]\n`,
      5,
      'PEM public key',
    ],
    [
      'key with both sources',
      `${minimal}defaults:\n  signatures:\n    keys: [{ name: ci, kms: "arn:aws:kms:eu-west-1:123456789012:key/x", publicKey: "-----BEGIN PUBLIC KEY-----" }]\n`,
      5,
      'exactly one of publicKey or kms',
    ],
    [
      'keyless without subject',
      `${minimal}defaults:\n  signatures:\n    keyless: [{ issuer: "https://token.actions.githubusercontent.com" }]\n`,
      5,
      'exactly one of subject',
    ],
    [
      'keyless bad regexp',
      `${minimal}defaults:\n  signatures:\n    keyless: [{ issuer: "https://i.example", subjectRegExp: "(" }]\n`,
      5,
      'not a valid regular expression',
    ],
    [
      'grace on unknown severity',
      `${minimal}defaults:\n  grace: { URGENT: 1d }\n`,
      4,
      'defaults.grace',
    ],
    ['not a mapping', '- a\n- b\n', 1, 'expected object'],
  ])('%s', (_name, text, line, fragment) => {
    const issues = issuesOf(text);
    expect(issues.length).toBeGreaterThan(0);
    const first = issues[0];
    expect(first?.file).toBe('p.yaml');
    expect(first?.line).toBe(line);
    expect(first?.column).toBeGreaterThanOrEqual(1);
    const message = new PolicyError(issues).message;
    expect(message).toContain(fragment);
    expect(message).toMatch(/^p\.yaml:\d+:\d+: /);
  });

  it('reports every problem at once', () => {
    const issues = issuesOf(`${minimal}defaults:\n  unscanned: never\n  maxScanAge: soon\n`);
    expect(issues.map((i) => i.line)).toEqual([4, 5]);
  });

  it('names an unreadable file', () => {
    expect(() => loadPolicyFile('does/not/exist.yaml')).toThrow(
      'cannot read policy file does/not/exist.yaml',
    );
  });
});

describe('apiVersion: registry-watcher.io/v1, the old registry-watcher/v1 still read', () => {
  const body = 'kind: Policy\ndefaults:\n  unscanned: warn\n';

  it('the new group loads with no warning', () => {
    const policy = parsePolicy(`apiVersion: registry-watcher.io/v1\n${body}`, 'new.yaml');
    expect(policy.apiVersion).toBe('registry-watcher.io/v1');
    expect(policy.defaults.unscanned).toBe('warn');
    expect(policy.warnings).toEqual([]);
  });

  it('the old one loads too, as the same policy, with a warning at its line and column', () => {
    const old = parsePolicy(`# legacy\napiVersion:   registry-watcher/v1\n${body}`, 'old.yaml');
    const renamed = parsePolicy(`apiVersion: registry-watcher.io/v1\n${body}`, 'new.yaml');
    expect(old.defaults).toEqual(renamed.defaults);
    expect(old.apiVersion).toBe('registry-watcher.io/v1');
    expect(old.warnings).toEqual([
      {
        file: 'old.yaml',
        line: 2,
        column: 15,
        path: 'apiVersion',
        message: expect.stringContaining(
          'registry-watcher/v1 is deprecated: write apiVersion: registry-watcher.io/v1',
        ),
      },
    ]);
  });

  it('switching the spelling keeps the hash (no digest is re-judged for it)', () => {
    const old = parsePolicy(`apiVersion: registry-watcher/v1\n${body}`);
    const renamed = parsePolicy(`apiVersion: registry-watcher.io/v1\n${body}`);
    expect(renamed.hash).toBe(old.hash);
    // and the hash still changes with the content
    expect(parsePolicy(`apiVersion: registry-watcher.io/v1\nkind: Policy\n`).hash).not.toBe(
      old.hash,
    );
  });

  it('any other apiVersion is refused, at its line', () => {
    expect(issuesOf(`apiVersion: registry-watcher.io/v2\n${body}`)).toEqual([
      expect.objectContaining({ file: 'p.yaml', line: 1, path: 'apiVersion' }),
    ]);
    expect(issuesOf(`apiVersion: registry-watcher.dev/v1\n${body}`)).toHaveLength(1);
  });

  it('the shipped policy uses the new group', () => {
    const policy = loadPolicyFile('infra/policy.yaml');
    expect(policy.warnings).toEqual([]);
  });
});
