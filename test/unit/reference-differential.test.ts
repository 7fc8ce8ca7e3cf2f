/**
 * Differential test of the webhook's reference parser against what the runtime reads.
 * Every expected result below was written by hand from these sources, never by calling
 * our parser:
 *
 * - distribution/reference @ 0965666a6ade2e06035fe352e38344be1e68951a (2026-04-18):
 *   regexp.go (`referencePat`, `domainAndPort`, `ipv6address`, `optionalPort = (?::[0-9]+)?`,
 *   `tag = [\w][\w.-]{0,127}`, `digestPat`, `identifier`), reference.go `Parse`
 *   (path <= 255 characters, go-digest `Parse` of the digest: sha256/sha384/sha512, lower-case
 *   hex of the exact length), normalize.go `ParseNormalizedNamed` and `splitDockerDomain`
 *   (a 64-hex string is refused; the first component is a domain when it is `localhost`,
 *   holds "." or ":", or has upper case; `index.docker.io` becomes `docker.io`; only
 *   `docker.io` one-part names get `library/`). The kubelet parses images with it.
 * - containerd @ 301026e58c619e63d09c0ec411012e54c0124b03 (2026-08-22):
 *   core/remotes/docker/config/hosts.go `ConfigureHosts` (`docker.io` → registry-1.docker.io;
 *   any other host as written, `https://<host>/v2`; `localhost` with no port or 443: https)
 *   and registry.go `IsLocalhost`; the host is dialled by Go's net package: `parsePort`
 *   accepts leading zeros and refuses > 65535 ("invalid port"), `ParseIP` reads IPv6
 *   literals (so spellings of one address are one endpoint; `::ffff:a.b.c.d` dials IPv4)
 *   and refuses IPv4 with leading zeros (then a resolver reads the name, differently in
 *   Go and in getaddrinfo).
 *
 * Canonical keys: host lower case, port as a number and none for 443, IPv6 per RFC 5952.
 */
import { parseImage } from '../../cluster/webhook/image-refs';
import { InvalidImageReferenceError } from '../../shared/domain/errors';
import { type ImageRef, parseImageReference } from '../../shared/domain/image-ref';

const D = `sha256:${'0123456789abcdef'.repeat(4)}`;
const D384 = `sha384:${'ab'.repeat(48)}`;
const D512 = `sha512:${'cd'.repeat(64)}`;
const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

type Expected = { ok: ImageRef } | { invalid: string } | { stricter: string };
const ok = (registry: string, repository: string, tag?: string, digest?: string): Expected => ({
  ok: { registry, repository, ...(tag && { tag }), ...(digest && { digest }) },
});
/** The runtime refuses it (the reason names the rule). */
const invalid = (rule: string): Expected => ({ invalid: rule });
/** The grammar accepts it, the webhook denies it on purpose (the reason says why). */
const stricter = (why: string): Expected => ({ stricter: why });

const VALID: [string, Expected][] = [
  ['nginx', ok('docker.io', 'library/nginx')],
  ['nginx:1.27', ok('docker.io', 'library/nginx', '1.27')],
  [`nginx@${D}`, ok('docker.io', 'library/nginx', undefined, D)],
  [`nginx:1.27@${D}`, ok('docker.io', 'library/nginx', '1.27', D)],
  ['library/nginx', ok('docker.io', 'library/nginx')],
  ['acme/app', ok('docker.io', 'acme/app')],
  ['docker.io/nginx', ok('docker.io', 'library/nginx')],
  ['docker.io/acme/app:v1', ok('docker.io', 'acme/app', 'v1')],
  ['localhost/app', ok('localhost', 'app')],
  ['localhost:5000/app:dev', ok('localhost:5000', 'app', 'dev')],
  // no "/": a familiar Docker Hub name, even when it looks like a host
  ['example.com', ok('docker.io', 'library/example.com')],
  ['localhost:5000', ok('docker.io', 'library/localhost', '5000')],
  ['registry.example:5000', ok('docker.io', 'library/registry.example', '5000')],
  // an upper-case first component is a domain
  ['REGISTRY/app', ok('registry', 'app')],
  ['ghcr.io/a/b/c/d:v1', ok('ghcr.io', 'a/b/c/d', 'v1')],
  ['r.example/x__y/z---w.v_1/a-b', ok('r.example', 'x__y/z---w.v_1/a-b')],
  [`${ECR}/prod/api@${D}`, ok(ECR, 'prod/api', undefined, D)],
  [`r.example/app:${'t'.repeat(128)}`, ok('r.example', 'app', 't'.repeat(128))],
  ['r.example/app:_x', ok('r.example', 'app', '_x')],
  ['r.example/app:V1.2-RC_3', ok('r.example', 'app', 'V1.2-RC_3')],
  [`r.example/app@${D384}`, ok('r.example', 'app', undefined, D384)],
  [`r.example/app@${D512}`, ok('r.example', 'app', undefined, D512)],
  ['[::1]:5000/app', ok('[::1]:5000', 'app')],
  ['[2001:db8::1]/app', ok('[2001:db8::1]', 'app')],
  ['127.0.0.1:5000/app', ok('127.0.0.1:5000', 'app')],
  ['r.example:65535/app', ok('r.example:65535', 'app')],
  ['r.example:1/app', ok('r.example:1', 'app')],
  ['r.example:80/app', ok('r.example:80', 'app')],
  [`r.example/${'a'.repeat(255)}`, ok('r.example', 'a'.repeat(255))],
];

const ALIASES: [string, Expected][] = [
  ['index.docker.io/nginx', ok('docker.io', 'library/nginx')],
  ['index.docker.io/library/nginx', ok('docker.io', 'library/nginx')],
  ['registry-1.docker.io/library/nginx', ok('docker.io', 'library/nginx')],
  // library/ is added only for the domain docker.io: another spelling keeps the path
  ['registry-1.docker.io/nginx', ok('docker.io', 'nginx')],
  ['DOCKER.IO/library/nginx', ok('docker.io', 'library/nginx')],
  ['DOCKER.IO/nginx', ok('docker.io', 'nginx')],
  ['docker.io:443/library/nginx', ok('docker.io', 'library/nginx')],
  ['Registry.Example/app', ok('registry.example', 'app')],
  [`${ECR}:443/prod/api`, ok(ECR, 'prod/api')],
  [`${ECR}:0443/prod/api`, ok(ECR, 'prod/api')],
  [`${ECR}:000000443/prod/api`, ok(ECR, 'prod/api')],
  [`${ECR.toUpperCase()}:0443/prod/api`, ok(ECR, 'prod/api')],
  ['localhost:05000/app', ok('localhost:5000', 'app')],
  ['localhost:443/app', ok('localhost', 'app')],
  ['LOCALHOST:5000/app', ok('localhost:5000', 'app')],
  ['127.0.0.1:005000/app', ok('127.0.0.1:5000', 'app')],
  ['r.example:080/app', ok('r.example:80', 'app')],
  ['[0:0:0:0:0:0:0:1]:5000/app', ok('[::1]:5000', 'app')],
  ['[0000::0001]:05000/app', ok('[::1]:5000', 'app')],
  ['[::1]:443/app', ok('[::1]', 'app')],
  ['[2001:DB8::1]/app', ok('[2001:db8::1]', 'app')],
  ['[2001:0db8:0000:0000:0000:0000:0002:0001]/app', ok('[2001:db8::2:1]', 'app')],
  // RFC 5952: the longest run of zeros; the first of equal runs; one zero group stays
  ['[2001:db8:0:0:1:0:0:1]/app', ok('[2001:db8::1:0:0:1]', 'app')],
  ['[2001:db8:0:1:0:0:0:1]/app', ok('[2001:db8:0:1::1]', 'app')],
  ['[2001:db8:0:1:1:1:1:1]/app', ok('[2001:db8:0:1:1:1:1:1]', 'app')],
  ['[1:2:3:4:5:6:7::]/app', ok('[1:2:3:4:5:6:7:0]', 'app')],
  // IPv4-mapped IPv6: Go dials the IPv4 address
  ['[::ffff:7f00:1]:5000/app', ok('127.0.0.1:5000', 'app')],
  ['[::FFFF:7F00:0001]:5000/app', ok('127.0.0.1:5000', 'app')],
];

const INVALID: [string, Expected][] = [
  ['', invalid('ErrNameEmpty')],
  [' nginx', invalid('leading space: no rule of the grammar takes it')],
  ['nginx ', invalid('trailing space')],
  ['nginx\n', invalid('trailing newline (Go `$` is end of text)')],
  ['\tnginx', invalid('tab')],
  ['\u00a0nginx', invalid('NBSP')],
  ['nginx\u00a0', invalid('trailing NBSP')],
  ['\ufeffnginx', invalid('byte-order mark')],
  ['ng inx', invalid('inner space')],
  ['\uff4eginx', invalid('full-width letter: the grammar is ASCII')],
  ['r.example/app\u200b', invalid('zero-width space')],
  ['Nginx', invalid('ErrNameContainsUppercase')],
  ['acme/App', invalid('upper case in the path')],
  ['r.example/App', invalid('upper case in the path')],
  ['r.example/', invalid('empty path')],
  ['r.example//app', invalid('empty path component')],
  ['r.example/app/', invalid('empty last component')],
  ['/app', invalid('empty first component')],
  ['r.example/a..b', invalid('separator "." is single')],
  ['r.example/a___b', invalid('separators are ".", "_", "__" or "-"+')],
  ['r.example/-a', invalid('component starts with alphanumerics')],
  ['r.example:/app', invalid('optionalPort needs digits')],
  ['r.example:+443/app', invalid('optionalPort is digits only')],
  ['r.example:0/app', invalid('port 0: nothing to dial')],
  ['r.example:00/app', invalid('port 0')],
  ['r.example:65536/app', invalid('Go parsePort: > 65535 is "invalid port"')],
  ['r.example:99999/app', invalid('invalid port')],
  ['r.example:18446744073709551616443/app', invalid('invalid port (not 443 mod anything)')],
  [`${ECR}:443443/prod/api`, invalid('invalid port')],
  ['-r.example/app', invalid('domain component starts with alphanumerics')],
  ['r-.example/app', invalid('domain component ends with alphanumerics')],
  ['r.example./app', invalid('trailing dot: not a domainName, not a path component')],
  ['[::1/app', invalid('unclosed IPv6 literal')],
  ['[::1]x/app', invalid('text after the IPv6 literal')],
  ['[1::2::3]:5000/app', invalid('Go ParseIP: two "::"')],
  ['[12345::1]/app', invalid('Go ParseIP: group of 5 hex digits')],
  ['[1:2:3:4:5:6:7:8:9]/app', invalid('Go ParseIP: nine groups')],
  ['[1:2:3:4:5:6:7]/app', invalid('Go ParseIP: seven groups without "::"')],
  ['[::ffff:127.0.0.1]/app', invalid('ipv6address is hex and ":" only')],
  ['[fe80::1%eth0]/app', invalid('no zone in ipv6address')],
  ['[]/app', invalid('ipv6address needs one character')],
  ['app@sha256:abc', invalid('go-digest: wrong length')],
  [`app@${D.toUpperCase().replace('SHA256', 'sha256')}`, invalid('go-digest: lower-case hex')],
  [`app@md5:${'a'.repeat(32)}`, invalid('go-digest: unsupported algorithm')],
  [`app@sha256:${'a'.repeat(65)}`, invalid('go-digest: wrong length')],
  [`app@${D}@${D}`, invalid('one digest')],
  [`app@`, invalid('empty digest')],
  ['r.example/app:', invalid('empty tag')],
  ['r.example/app:v1:v2', invalid('":" is not a tag character')],
  ['r.example/app:-x', invalid('tag starts with \\w')],
  ['r.example/app:.x', invalid('tag starts with \\w')],
  [`r.example/app:${'t'.repeat(129)}`, invalid('tag is at most 128')],
  [`r.example/${'a'.repeat(256)}`, invalid('ErrNameTooLong: path > 255')],
  ['0123456789abcdef'.repeat(4), invalid('ParseNormalizedNamed: a 64-hex identifier')],
  [`r.example/app:v1@sha256:${'g'.repeat(64)}`, invalid('digest hex')],
];

const STRICTER: [string, Expected][] = [
  [
    'bad_host.example/app',
    stricter(
      'grammar: no domain, path "bad_host.example/app"; containerd then dials "bad_host.example"',
    ),
  ],
  ['127.000.000.001:5000/app', stricter('Go: not an IP, so a name; getaddrinfo: 127.0.0.1')],
  ['0177.0.0.1:5000/app', stricter('getaddrinfo reads octal: 127.0.0.1')],
  ['0x7f.0.0.1:5000/app', stricter('getaddrinfo reads hex: 127.0.0.1')],
  ['2130706433:5000/app', stricter('getaddrinfo reads one number: 127.0.0.1')],
  ['127.1:5000/app', stricter('getaddrinfo reads 127.1 as 127.0.0.1')],
  ['256.0.0.1:5000/app', stricter('a numeric name that is no address')],
];

const CORPUS: [string, string, Expected][] = [
  ...VALID.map(([s, e]): [string, string, Expected] => ['valid', s, e]),
  ...ALIASES.map(([s, e]): [string, string, Expected] => ['alias', s, e]),
  ...INVALID.map(([s, e]): [string, string, Expected] => ['invalid', s, e]),
  ...STRICTER.map(([s, e]): [string, string, Expected] => ['stricter', s, e]),
];

describe('reference parser against distribution/reference and containerd host resolution', () => {
  it('covers each class', () => {
    expect([VALID.length, ALIASES.length, INVALID.length, STRICTER.length]).toEqual([
      29, 28, 55, 7,
    ]);
  });

  it.each(CORPUS)('%s %j', (_, input, expected) => {
    const parsed = parseImage(input);
    if ('ok' in expected) {
      expect(parseImageReference(input)).toEqual(expected.ok);
      expect(parsed).toEqual({
        ok: true,
        ref: expected.ok,
        repository: `${expected.ok.registry}/${expected.ok.repository}`,
      });
    } else {
      expect(() => parseImageReference(input)).toThrow(InvalidImageReferenceError);
      expect(parsed).toMatchObject({ ok: false, message: expect.any(String) });
    }
  });
});
