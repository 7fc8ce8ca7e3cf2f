import { indexAllowlist } from '../../cluster/webhook/allowlist-index';
import { checkImage, decide } from '../../cluster/webhook/decide';
import type { DecisionOptions, ReasonCode } from '../../cluster/webhook/decision';
import type { ContainerImage } from '../../cluster/webhook/workloads';
import { buildAllowlist } from '../../shared/domain/allowlist';
import { admitted, digest, ECR } from '../support/cluster';

const NOW = new Date('2026-11-23T12:00:00Z');
const API = `${ECR}/prod/api`;

const index = indexAllowlist(
  buildAllowlist(
    [
      admitted('prod/api', 1, { tags: ['1.4.2', 'latest'] }),
      admitted('prod/api', 2, { verdict: 'WARN', tags: ['1.5.0'] }),
      admitted('prod/api', 3, { expiresAt: '2026-11-22T00:00:00Z', tags: ['1.3.0'] }),
      admitted('prod/web', 4, { tags: ['shared'] }),
      admitted('prod/web', 5, { tags: ['shared'] }),
      {
        registry: 'docker.io',
        repository: 'library/nginx',
        digest: digest(6),
        verdict: 'PASS',
        tags: ['1.27'],
      },
      {
        registry: 'registry.example',
        repository: 'team/app',
        digest: digest(7),
        verdict: 'PASS',
        tags: [],
      },
    ],
    {
      sequence: 7,
      now: new Date('2026-11-23T00:00:00Z'),
      validityMs: 86_400_000,
      policyHash: 'sha256:p',
    },
  ),
);

const STRICT: DecisionOptions = {
  resolveTags: false,
  unwatchedRegistries: 'deny',
  failureMode: 'closed',
};

const c = (image: string, kind: ContainerImage['kind'] = 'containers'): ContainerImage => ({
  field: `spec.${kind}[0]`,
  kind,
  name: 'app',
  image,
});

describe('checkImage', () => {
  it.each<[string, string, Partial<DecisionOptions>, 'admit' | 'warn' | 'deny', ReasonCode]>([
    ['pinned, PASS', `${API}@${digest(1)}`, {}, 'admit', 'ALLOWLISTED'],
    [
      'tag and digest: the digest decides',
      `${API}:whatever@${digest(1)}`,
      {},
      'admit',
      'ALLOWLISTED',
    ],
    ['pinned, WARN verdict', `${API}@${digest(2)}`, {}, 'warn', 'VERDICT_WARN'],
    ['entry past expiresAt', `${API}@${digest(3)}`, {}, 'deny', 'ENTRY_EXPIRED'],
    ['digest of another repository', `${API}@${digest(4)}`, {}, 'deny', 'NOT_ALLOWLISTED'],
    ['unknown digest', `${API}@${digest(99)}`, {}, 'deny', 'NOT_ALLOWLISTED'],
    ['tag only', `${API}:1.4.2`, {}, 'deny', 'NOT_PINNED'],
    ['tag only, resolveTags', `${API}:1.4.2`, { resolveTags: true }, 'warn', 'TAG_RESOLVED'],
    ['implicit latest, resolveTags', API, { resolveTags: true }, 'warn', 'TAG_RESOLVED'],
    [
      'tag on an expired entry',
      `${API}:1.3.0`,
      { resolveTags: true },
      'deny',
      'TAG_NOT_ALLOWLISTED',
    ],
    ['unknown tag', `${API}:9.9.9`, { resolveTags: true }, 'deny', 'TAG_NOT_ALLOWLISTED'],
    [
      'tag on two digests',
      `${ECR}/prod/web:shared`,
      { resolveTags: true },
      'deny',
      'TAG_AMBIGUOUS',
    ],
    ['short Docker Hub name', `nginx@${digest(6)}`, {}, 'admit', 'ALLOWLISTED'],
    [
      'index.docker.io alias',
      `index.docker.io/library/nginx@${digest(6)}`,
      {},
      'admit',
      'ALLOWLISTED',
    ],
    [
      'upper-case host and :443',
      `Registry.Example:443/team/app@${digest(7)}`,
      {},
      'admit',
      'ALLOWLISTED',
    ],
    [
      'another port is another registry',
      `registry.example:5000/team/app@${digest(7)}`,
      {},
      'deny',
      'UNWATCHED_REGISTRY',
    ],
    [
      'unwatched registry, warn',
      `ghcr.io/acme/x@${digest(1)}`,
      { unwatchedRegistries: 'warn' },
      'warn',
      'UNWATCHED_REGISTRY',
    ],
    [
      'unwatched registry, allow',
      `ghcr.io/acme/x@${digest(1)}`,
      { unwatchedRegistries: 'allow' },
      'admit',
      'UNWATCHED_REGISTRY',
    ],
    [
      'configured registries',
      `ghcr.io/acme/x@${digest(1)}`,
      { registries: ['ghcr.io'] },
      'deny',
      'NOT_ALLOWLISTED',
    ],
    [
      'configured registry glob',
      `${API}@${digest(1)}`,
      { registries: ['*.dkr.ecr.*.amazonaws.com'] },
      'admit',
      'ALLOWLISTED',
    ],
    ['invalid reference', 'Prod/API@sha256:zz', {}, 'deny', 'INVALID_REFERENCE'],
    ['empty image', '', {}, 'deny', 'INVALID_REFERENCE'],
  ])('%s', (_, image, options, outcome, reason) => {
    const check = checkImage(c(image), index, { ...STRICT, ...options }, NOW);
    expect({ outcome: check.outcome, reason: check.reason }).toEqual({ outcome, reason });
  });

  it('names the resolved digest', () => {
    const check = checkImage(c(`${API}:1.4.2`), index, { ...STRICT, resolveTags: true }, NOW);
    expect(check.digest).toBe(digest(1));
  });

  it.each<[string, Date, DecisionOptions['failureMode'], 'warn' | 'deny', ReasonCode]>([
    ['expired, closed', new Date('2026-11-24T00:00:00Z'), 'closed', 'deny', 'ALLOWLIST_EXPIRED'],
    ['expired, open', new Date('2026-11-25T00:00:00Z'), 'open', 'warn', 'ALLOWLIST_EXPIRED'],
  ])('%s', (_, now, failureMode, outcome, reason) => {
    const check = checkImage(c(`${API}@${digest(1)}`), index, { ...STRICT, failureMode }, now);
    expect({ outcome: check.outcome, reason: check.reason }).toEqual({ outcome, reason });
  });

  it.each<[DecisionOptions['failureMode'], 'warn' | 'deny']>([
    ['closed', 'deny'],
    ['open', 'warn'],
  ])('with no allowlist loaded, failureMode %s → %s', (failureMode, outcome) => {
    const check = checkImage(c(`${API}@${digest(1)}`), undefined, { ...STRICT, failureMode }, NOW);
    expect(check).toMatchObject({ outcome, reason: 'NO_ALLOWLIST' });
  });

  it('lets configured registries decide before the allowlist state', () => {
    const options = { ...STRICT, registries: [ECR], unwatchedRegistries: 'allow' as const };
    expect(checkImage(c(`ghcr.io/x/y@${digest(1)}`), undefined, options, NOW).outcome).toBe(
      'admit',
    );
    expect(checkImage(c(`${API}@${digest(1)}`), undefined, options, NOW).outcome).toBe('deny');
  });
});

describe('decide', () => {
  const good = c(`${API}@${digest(1)}`);
  const bad = c(`${API}@${digest(99)}`, 'initContainers');
  const warnVerdict = c(`${API}@${digest(2)}`);

  it('admits when every image is admitted', () => {
    expect(decide({ mode: 'enforce', images: [good] }, index, STRICT, NOW)).toMatchObject({
      allowed: true,
      outcome: 'admitted',
      warnings: [],
    });
  });

  it('denies in enforce mode when any image is denied, naming it', () => {
    const d = decide({ mode: 'enforce', images: [good, bad] }, index, STRICT, NOW);
    expect(d).toMatchObject({ allowed: false, outcome: 'denied', reason: 'NOT_ALLOWLISTED' });
    expect(d.problems.map((p) => p.container.kind)).toEqual(['initContainers']);
  });

  it('admits with warnings in warn mode', () => {
    const d = decide({ mode: 'warn', images: [good, bad] }, index, STRICT, NOW);
    expect(d).toMatchObject({ allowed: true, outcome: 'warned', reason: 'NOT_ALLOWLISTED' });
    expect(d.warnings).toEqual([
      expect.stringMatching(/^would be denied: initContainer app .*digest not in the allowlist$/),
    ]);
  });

  it('admits a WARN verdict with a warning', () => {
    const d = decide({ mode: 'enforce', images: [warnVerdict] }, index, STRICT, NOW);
    expect(d).toMatchObject({ allowed: true, outcome: 'warned', reason: 'VERDICT_WARN' });
  });

  it('break-glass admits, warns and keeps the reason', () => {
    const d = decide(
      { mode: 'enforce', images: [bad], breakGlass: 'INC-4711' },
      index,
      STRICT,
      NOW,
    );
    expect(d).toMatchObject({
      allowed: true,
      outcome: 'warned',
      reason: 'BREAK_GLASS',
      breakGlass: 'INC-4711',
    });
    expect(d.warnings[0]).toContain('break-glass (INC-4711)');
    expect(d.problems).toHaveLength(1);
  });

  it('break-glass on a request with nothing to deny changes nothing', () => {
    const d = decide({ mode: 'enforce', images: [good], breakGlass: 'INC-1' }, index, STRICT, NOW);
    expect(d).toMatchObject({ allowed: true, outcome: 'admitted', reason: 'ALLOWLISTED' });
  });
});

describe('indexAllowlist', () => {
  it('re-keys repositories canonically, merging aliases, and skips non-image keys', () => {
    const base = buildAllowlist([], { sequence: 1, now: NOW, validityMs: 1000, policyHash: 'h' });
    const entry = { verdict: 'PASS' as const, tags: ['v1'] };
    const idx = indexAllowlist({
      ...base,
      images: {
        'Registry.Example:443/team/app': { [digest(1)]: entry },
        'registry.example/team/app': { [digest(2)]: entry },
        nginx: { [digest(3)]: entry },
        'not a repository!': { [digest(4)]: entry },
      },
    });
    expect(Object.keys(idx.allowlist.images).sort()).toEqual([
      'docker.io/library/nginx',
      'registry.example/team/app',
    ]);
    expect(Object.keys(idx.allowlist.images['registry.example/team/app'] ?? {})).toHaveLength(2);
    expect(idx.tags.get('registry.example/team/app')?.get('v1')).toBeNull();
    expect([...idx.registries].sort()).toEqual(['docker.io', 'registry.example']);
    expect(idx.skipped).toEqual(['not a repository!']);
    expect(idx.digests).toBe(3);
  });

  it('shares one entry per verdict and expiry, tags kept only in the tag map', () => {
    const repo = index.allowlist.images[API] ?? {};
    expect(repo[digest(1)]).toBe(index.allowlist.images[`${ECR}/prod/web`]?.[digest(4)]);
    expect(repo[digest(2)]).toEqual({ verdict: 'WARN', tags: [] });
    expect(repo[digest(3)]).toEqual({
      verdict: 'PASS',
      tags: [],
      expiresAt: '2026-11-22T00:00:00Z',
    });
    expect(index.tags.get(API)?.get('1.5.0')).toBe(digest(2));
  });
});
