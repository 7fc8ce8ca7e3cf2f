import { settingsFor } from '../../shared/domain/policy';
import { parsePolicy } from '../../shared/domain/policy-yaml';
import { checkSignedIdentity, type IdentityRule } from '../../shared/domain/signed-identity';

const DIGEST = `sha256:${'a'.repeat(64)}`;
/** `parsePolicy(head).hash` printed by main 4ef05cf, before signatures.identity existed. */
const HASH_BEFORE = 'sha256:0c30cc6e677f531158bd78dedc0fe24a7e1a5702828b70bcd00a078fb57080a9';
const OTHER = `sha256:${'b'.repeat(64)}`;
const image = {
  key: { registry: '127.0.0.1:5000', repository: 'prod/api', digest: DIGEST },
  tags: ['v1', 'latest'],
};

describe('checkSignedIdentity: the signed docker-reference against the judged image', () => {
  // [signed docker-reference, ignore, repository, exact]
  it.each<[string | undefined, boolean, boolean, boolean]>([
    // cosign sign: the repository alone
    ['127.0.0.1:5000/prod/api', true, true, false],
    // skopeo: the tag it copied
    ['127.0.0.1:5000/prod/api:v1', true, true, true],
    ['127.0.0.1:5000/prod/api:v2', true, true, false],
    [`127.0.0.1:5000/prod/api@${DIGEST}`, true, true, true],
    [`127.0.0.1:5000/prod/api@${OTHER}`, true, true, false],
    [`127.0.0.1:5000/prod/api:v1@${OTHER}`, true, true, false],
    // another repository, another registry, a prefix of ours
    ['evil.example/other:v9', true, false, false],
    ['127.0.0.1:5000/prod/other:v1', true, false, false],
    ['127.0.0.2:5000/prod/api:v1', true, false, false],
    ['127.0.0.1:5000/prod', true, false, false],
    ['127.0.0.1:5000/prod/api/sub:v1', true, false, false],
    // unreadable, or no claim at all (a sigstore bundle without simplesigning fields)
    ['not a reference', true, false, false],
    [undefined, true, false, false],
  ])('%s → ignore %s, repository %s, exact %s', (signed, ignore, repository, exact) => {
    const results = (['ignore', 'repository', 'exact'] as IdentityRule[]).map(
      (rule) => checkSignedIdentity(rule, signed, image).ok,
    );
    expect(results).toEqual([ignore, repository, exact]);
  });

  it('reads the registry as the runtime does: case and Docker Hub defaults', () => {
    const hub = {
      key: { registry: 'docker.io', repository: 'library/nginx', digest: DIGEST },
      tags: ['1.27'],
    };
    expect(checkSignedIdentity('exact', 'nginx:1.27', hub).ok).toBe(true);
    expect(checkSignedIdentity('exact', 'docker.io/library/nginx:1.27', hub).ok).toBe(true);
    expect(checkSignedIdentity('repository', 'index.docker.io/library/nginx', hub).ok).toBe(true);
    expect(checkSignedIdentity('repository', 'other/nginx', hub).ok).toBe(false);
  });

  it('says what was signed and what the rule wanted', () => {
    const result = checkSignedIdentity('repository', 'evil.example/other:v9', image);
    expect(result).toEqual({
      ok: false,
      reason:
        'signed for evil.example/other:v9, not for repository 127.0.0.1:5000/prod/api (signatures.identity: repository)',
    });
    expect(checkSignedIdentity('exact', '127.0.0.1:5000/prod/api', image)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('needs a tag the image carries or its digest'),
    });
  });
});

describe('signatures.identity in the policy', () => {
  const head = 'apiVersion: registry-watcher/v1\nkind: Policy\n';

  it('is unset by default (read as ignore) and merges per rule', () => {
    const policy = parsePolicy(`${head}defaults:
  signatures: { identity: repository }
repositories:
  - match: "prod/*"
    signatures: { identity: exact, required: true }
  - match: "dev/*"
    signatures: { required: true }
`);
    expect(
      settingsFor(policy, { registry: '127.0.0.1:5000', repository: 'prod/api' }).signatures
        .identity,
    ).toBe('exact');
    expect(
      settingsFor(policy, { registry: '127.0.0.1:5000', repository: 'dev/api' }).signatures
        .identity,
    ).toBe('repository');
    expect(parsePolicy(head).defaults.signatures.identity).toBeUndefined();
  });

  it('leaves the hash of a policy without it unchanged', () => {
    expect(parsePolicy(head).hash).toBe(HASH_BEFORE);
  });

  it('refuses anything else', () => {
    expect(() => parsePolicy(`${head}defaults:\n  signatures: { identity: matchExact }\n`)).toThrow(
      /identity/,
    );
  });
});
