import { InvalidImageReferenceError } from '../../shared/domain/errors';
import {
  canonicalRegistry,
  ecrRegistry,
  formatImageReference,
  parseEcrRegistry,
  parseImageId,
  parseImageReference,
} from '../../shared/domain/image-ref';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['docker.io/library/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['index.docker.io/acme/app', { registry: 'docker.io', repository: 'acme/app' }],
    [`ghcr.io/acme/app@${D}`, { registry: 'ghcr.io', repository: 'acme/app', digest: D }],
    [
      `Registry.Example:443/team/app:v1@${D}`,
      { registry: 'registry.example', repository: 'team/app', tag: 'v1', digest: D },
    ],
    ['localhost:5000/app', { registry: 'localhost:5000', repository: 'app' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    [
      `123456789012.dkr.ecr.eu-west-1.amazonaws.com/prod/api@${D}`,
      {
        registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        repository: 'prod/api',
        digest: D,
      },
    ],
  ])('parses %s', (input, expected) => {
    expect(parseImageReference(input)).toEqual(expected);
  });

  it.each([
    ['', 'it is empty'],
    ['app@sha256:abc', 'digest "sha256:abc"'],
    [`app@md5:${'a'.repeat(32)}`, 'digest'],
    ['app:-bad', 'tag "-bad"'],
    ['Acme/App', 'repository path component "App"'],
    ['bad host.example/app', 'character U+0020 at position 3'],
    ['bad_host.example/app', 'registry host "bad_host.example"'],
    [' nginx', 'character U+0020 at position 0'],
    ['registry.example:0/app', 'registry port "0" is out of range'],
    ['registry.example/App', 'repository path component "App"'],
    ['registry.example/a//b', 'repository path component ""'],
    ['registry.example/', 'the repository name is missing'],
    ['bad_host!/app', 'repository path component "bad_host!"'],
  ])('rejects %j naming the bad part', (input, part) => {
    expect(() => parseImageReference(input)).toThrow(InvalidImageReferenceError);
    expect(() => parseImageReference(input)).toThrow(part);
  });

  it('round-trips through formatImageReference', () => {
    const ref = parseImageReference(`ghcr.io/acme/app:v1@${D}`);
    expect(formatImageReference(ref)).toBe(`ghcr.io/acme/app:v1@${D}`);
  });
});

describe('registries', () => {
  it.each([
    ['REGISTRY.example', 'registry.example'],
    ['registry.example:443', 'registry.example'],
    ['registry.example:5000', 'registry.example:5000'],
    ['registry-1.docker.io', 'docker.io'],
    ['registry.example:0443', 'registry.example'],
    ['localhost:05000', 'localhost:5000'],
    ['[0:0::1]:5000', '[::1]:5000'],
    ['*.example:0443', '*.example'],
  ])('canonicalises %s', (host, expected) => {
    expect(canonicalRegistry(host)).toBe(expected);
  });

  it('builds and parses ECR hosts', () => {
    const host = ecrRegistry('123456789012', 'eu-west-1');
    expect(parseEcrRegistry(host)).toEqual({ accountId: '123456789012', region: 'eu-west-1' });
    expect(parseEcrRegistry('ghcr.io')).toBeUndefined();
  });

  it('requires a digest and no tag in an image id', () => {
    expect(parseImageId(`r.example/a@${D}`)).toEqual({
      registry: 'r.example',
      repository: 'a',
      digest: D,
    });
    expect(() => parseImageId('r.example/a:v1')).toThrow('not pinned by digest');
    expect(() => parseImageId(`r.example/a:v1@${D}`)).toThrow('carries no tag');
  });
});
