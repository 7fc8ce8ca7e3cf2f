import { refreshIntervalMs, resolveSettings } from '../../cluster/webhook/config';
import { Counter, Gauge, Histogram, Registry } from '../../cluster/webhook/metrics';
import { ConfigError } from '../../shared/domain/errors';

const FILE = `
apiVersion: registry-watcher/v1
kind: WebhookConfig
allowlist:
  source: s3://bucket/allowlist.json
  publicKeyFile: /keys/allowlist.pub
  failureMode: open
exemptNamespaces: [kube-system]
server:
  tlsCertFile: /tls/tls.crt
  tlsKeyFile: /tls/tls.key
`;

describe('webhook settings', () => {
  it('fills defaults the way the docs list them', () => {
    expect(resolveSettings(FILE, {})).toEqual({
      apiVersion: 'registry-watcher/v1',
      kind: 'WebhookConfig',
      allowlist: {
        source: 's3://bucket/allowlist.json',
        publicKeyFile: '/keys/allowlist.pub',
        maxBytes: 48 * 1024 * 1024,
        fetchTimeout: '20s',
        failureMode: 'open',
      },
      defaultMode: 'enforce',
      exemptNamespaces: ['kube-system'],
      resolveTags: false,
      unwatchedRegistries: 'deny',
      breakGlass: { annotation: 'registry-watcher.io/break-glass' },
      server: {
        host: '0.0.0.0',
        port: 8443,
        tlsCertFile: '/tls/tls.crt',
        tlsKeyFile: '/tls/tls.key',
        insecureHttp: false,
        tlsReloadInterval: '10s',
        requestTimeout: '30s',
        headersTimeout: '10s',
        keepAliveTimeout: '120s',
      },
    });
  });

  it('polls S3 and HTTPS every 2 s and a file every 30 s unless refreshInterval says', () => {
    const at = (source: string, refreshInterval?: string) =>
      refreshIntervalMs(
        resolveSettings(FILE, {
          allowlist: { source, ...(refreshInterval && { refreshInterval }) },
        }),
      );
    expect(at('s3://bucket/allowlist.json')).toBe(2_000);
    expect(at('https://allowlists.example/allowlist.json')).toBe(2_000);
    expect(at('/etc/registry-watcher/allowlist.json')).toBe(30_000);
    expect(at('/etc/registry-watcher/allowlist.json', '5s')).toBe(5_000);
    expect(at('s3://bucket/allowlist.json', '1m')).toBe(60_000);
  });

  it('lays flags over the file, field by field', () => {
    const settings = resolveSettings(FILE, {
      allowlist: { source: './allowlist.json', refreshInterval: '5s' },
      resolveTags: true,
      server: { port: 9443 },
    });
    expect(settings.allowlist).toMatchObject({
      source: './allowlist.json',
      publicKeyFile: '/keys/allowlist.pub',
      refreshInterval: '5s',
      failureMode: 'open',
    });
    expect(settings.resolveTags).toBe(true);
    expect(settings.server).toMatchObject({ port: 9443, tlsCertFile: '/tls/tls.crt' });
  });

  it.each<[string, string | undefined, object, string]>([
    ['unknown field', `${FILE}\nresolveTag: true\n`, {}, 'Unrecognized key: "resolveTag"'],
    ['bad mode', FILE, { defaultMode: 'audit' }, 'defaultMode'],
    [
      'bad duration',
      FILE,
      { allowlist: { refreshInterval: '30' } },
      'allowlist.refreshInterval: use a duration',
    ],
    ['not YAML', 'allowlist: [', {}, 'config is not YAML'],
    [
      'no TLS',
      undefined,
      { allowlist: { source: 'a', publicKeyFile: 'k' } },
      'needs --tls-cert and --tls-key',
    ],
  ])('rejects %s with a message naming the field', (_, file, flags, message) => {
    expect(() => resolveSettings(file, flags)).toThrow(ConfigError);
    expect(() => resolveSettings(file, flags)).toThrow(message);
  });
});

describe('Prometheus exposition', () => {
  it('renders counters, gauges and histograms in text format 0.0.4', () => {
    const registry = new Registry();
    const counter = registry.add(new Counter('rw_total', 'Things.'));
    counter.inc({ reason: 'NOT_PINNED', note: 'a "quoted"\\path\nnext' });
    counter.inc({ reason: 'NOT_PINNED', note: 'a "quoted"\\path\nnext' }, 2);
    counter.inc();
    registry.add(new Gauge('rw_sequence', 'Sequence.', () => 42));
    registry.add(new Gauge('rw_absent', 'Absent until loaded.', () => undefined));
    const histogram = registry.add(new Histogram('rw_seconds', 'Time.', [0.001, 0.01]));
    histogram.observe(0.0005);
    histogram.observe(0.005);
    histogram.observe(2);
    expect(registry.render()).toBe(
      [
        '# HELP rw_total Things.',
        '# TYPE rw_total counter',
        'rw_total{reason="NOT_PINNED",note="a \\"quoted\\"\\\\path\\nnext"} 3',
        'rw_total 1',
        '# HELP rw_sequence Sequence.',
        '# TYPE rw_sequence gauge',
        'rw_sequence 42',
        '# HELP rw_absent Absent until loaded.',
        '# TYPE rw_absent gauge',
        '# HELP rw_seconds Time.',
        '# TYPE rw_seconds histogram',
        'rw_seconds_bucket{le="0.001"} 1',
        'rw_seconds_bucket{le="0.01"} 2',
        'rw_seconds_bucket{le="+Inf"} 3',
        'rw_seconds_sum 2.0055',
        'rw_seconds_count 3',
        '',
      ].join('\n'),
    );
    expect(counter.get({ reason: 'NOT_PINNED', note: 'a "quoted"\\path\nnext' })).toBe(3);
  });
});
