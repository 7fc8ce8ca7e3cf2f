import { Counter, Histogram, Registry } from '../../cluster/webhook/metrics';

describe('Counter', () => {
  it('keeps one series per label set, in the order first seen', () => {
    const counter = new Counter('reviews_total', 'Reviews.');
    counter.inc({ decision: 'admitted', reason: 'ALLOWLISTED' });
    counter.inc({ decision: 'denied', reason: 'NOT_PINNED' });
    counter.inc({ decision: 'admitted', reason: 'ALLOWLISTED' }, 2);
    expect(counter.render()).toEqual([
      'reviews_total{decision="admitted",reason="ALLOWLISTED"} 3',
      'reviews_total{decision="denied",reason="NOT_PINNED"} 1',
    ]);
  });

  it.each<[string, Record<string, string>, Record<string, string>]>([
    ['same values under other names', { a: 'x', b: 'y' }, { b: 'x', a: 'y' }],
    ['a value that looks like a name', { a: 'b' }, { b: 'a' }],
    ['fewer labels', { a: 'x', b: 'y' }, { a: 'x' }],
    ['no labels', { a: 'x' }, {}],
  ])('tells label sets apart: %s', (_, one, other) => {
    const counter = new Counter('c', 'C.');
    counter.inc(one);
    counter.inc(other, 5);
    expect(counter.get(one)).toBe(1);
    expect(counter.get(other)).toBe(5);
    expect(counter.render()).toHaveLength(2);
  });

  it('escapes label values as the text format requires', () => {
    const counter = new Counter('c', 'C.');
    counter.inc({ path: 'a\\b"c\nd' });
    expect(counter.render()).toEqual(['c{path="a\\\\b\\"c\\nd"} 1']);
  });
});

describe('Registry', () => {
  it('renders HELP, TYPE and samples of each family', () => {
    const registry = new Registry();
    registry.add(new Counter('c_total', 'A counter.')).inc();
    registry.add(new Histogram('h_seconds', 'A histogram.', [0.1, 1])).observe(0.5);
    expect(registry.render()).toBe(
      [
        '# HELP c_total A counter.',
        '# TYPE c_total counter',
        'c_total 1',
        '# HELP h_seconds A histogram.',
        '# TYPE h_seconds histogram',
        'h_seconds_bucket{le="0.1"} 0',
        'h_seconds_bucket{le="1"} 1',
        'h_seconds_bucket{le="+Inf"} 1',
        'h_seconds_sum 0.5',
        'h_seconds_count 1',
        '',
      ].join('\n'),
    );
  });
});
