import { parsePrometheusText } from '../support/prometheus-text';

// The example of the exposition format documentation (text format details), verbatim.
const SPEC_EXAMPLE = `# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="0.2"} 100392
http_request_duration_seconds_bucket{le="0.5"} 129389
http_request_duration_seconds_bucket{le="1"} 133988
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.05"} 3272
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.9"} 9001
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
`;

describe('the strict Prometheus text parser (test support)', () => {
  it('reads the example of the format documentation', () => {
    const families = parsePrometheusText(SPEC_EXAMPLE);
    expect([...families.keys()]).toEqual([
      'http_requests_total',
      'msdos_file_access_time_seconds',
      'metric_without_timestamp_and_labels',
      'something_weird',
      'http_request_duration_seconds',
      'rpc_duration_seconds',
    ]);
    expect(families.get('http_requests_total')).toMatchObject({
      type: 'counter',
      help: 'The total number of HTTP requests.',
      samples: [
        { labels: { method: 'post', code: '200' }, value: 1027, timestamp: 1395066363000 },
        { labels: { method: 'post', code: '400' }, value: 3 },
      ],
    });
    expect(families.get('msdos_file_access_time_seconds')?.samples[0]?.labels).toEqual({
      path: 'C:\\DIR\\FILE.TXT',
      error: 'Cannot find file:\n"FILE.TXT"',
    });
    expect(families.get('something_weird')?.samples[0]).toMatchObject({
      value: Number.POSITIVE_INFINITY,
      timestamp: -3982045,
    });
    expect(families.get('http_request_duration_seconds')?.samples).toHaveLength(8);
    expect(families.get('rpc_duration_seconds')?.type).toBe('summary');
  });

  it.each<[string, string, RegExp]>([
    ['no newline at the end', 'a 1', /end with a newline/],
    ['a bad metric name', '1a 1\n', /not a sample/],
    ['a dash in a name', 'a-b 1\n', /no space before the value/],
    ['no value', 'a\n', /no space before the value/],
    ['a value that is no number', 'a one\n', /bad value one/],
    ['a decimal comma', 'a 1,5\n', /bad value/],
    ['a timestamp with a fraction', 'a 1 1.5\n', /bad timestamp/],
    ['text after the timestamp', 'a 1 2 3\n', /text after the timestamp/],
    ['an unquoted label value', 'a{b=c} 1\n', /not quoted/],
    ['an unterminated label value', 'a{b="c} 1\n', /unterminated/],
    ['an unknown escape', 'a{b="c\\t"} 1\n', /bad escape/],
    ['a reserved label name', 'a{__name__="x"} 1\n', /reserved label/],
    ['a label given twice', 'a{b="1",b="2"} 1\n', /given twice/],
    ['labels without a comma', 'a{b="1" c="2"} 1\n', /expected , or }/],
    ['an unknown TYPE', '# TYPE a meter\na 1\n', /unknown type/],
    ['TYPE after samples', 'a 1\n# TYPE a gauge\n', /TYPE for a after its samples/],
    ['a second TYPE', '# TYPE a gauge\n# TYPE a gauge\na 1\n', /second TYPE/],
    ['a second HELP', '# HELP a x\n# HELP a y\na 1\n', /second HELP/],
    ['a bad escape in HELP', '# HELP a x\\ty\na 1\n', /bad escape/],
    [
      'a family in two groups',
      '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{c="d"} 2\n',
      /two groups/,
    ],
    ['a duplicate series', 'a{b="1"} 1\na{b="1"} 2\n', /duplicate series/],
    ['a negative counter', '# TYPE a_total counter\na_total -1\n', /counter a_total is -1/],
    ['a NaN counter', '# TYPE a_total counter\na_total NaN\n', /counter a_total is NaN/],
    [
      'a histogram without +Inf',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
      /no \+Inf bucket/,
    ],
    [
      'a histogram that is not cumulative',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="2"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
      /not cumulative/,
    ],
    [
      'a histogram whose count is not its +Inf bucket',
      '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
      /_count 3 != \+Inf bucket 2/,
    ],
    ['a bucket without le', '# TYPE h histogram\nh_bucket 1\n', /without le/],
    [
      'le on the _sum of a histogram',
      '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum{le="1"} 1\nh_count 1\n',
      /h_sum with le/,
    ],
    ['le on a gauge', '# TYPE g gauge\ng{le="1"} 1\n', /le on gauge/],
    ['a carriage return', 'a 1\r\n', /carriage return/],
  ])('rejects %s', (_, text, error) => {
    expect(() => parsePrometheusText(text)).toThrow(error);
  });
});
