import { parseTimestamp } from '../../shared/adapters/aws/timestamps';
import { parseDuration } from '../../shared/domain/duration';
import { InvalidDurationError } from '../../shared/domain/errors';
import { matchesGlob } from '../../shared/domain/glob';
import { atLeast, maxSeverity, normaliseSeverity } from '../../shared/domain/severity';

describe('durations', () => {
  it.each([
    ['7d', 7 * 86_400_000],
    ['24h', 86_400_000],
    ['30m', 1_800_000],
    ['45s', 45_000],
    ['0d', 0],
    ['1.5h', 5_400_000],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['7', 'd', '7w', '-1d', ''])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(InvalidDurationError);
  });
});

describe('severities', () => {
  it.each([
    ['critical', 'CRITICAL'],
    ['UNTRIAGED', 'UNDEFINED'],
    ['Moderate', 'MEDIUM'],
    ['NONE', 'INFORMATIONAL'],
    [undefined, 'UNDEFINED'],
  ])('normalises %s', (input, expected) => expect(normaliseSeverity(input)).toBe(expected));

  it('orders UNDEFINED below INFORMATIONAL and CRITICAL on top', () => {
    expect(atLeast('UNDEFINED', 'INFORMATIONAL')).toBe(false);
    expect(atLeast('CRITICAL', 'HIGH')).toBe(true);
    expect(maxSeverity(['LOW', 'CRITICAL', 'MEDIUM'])).toBe('CRITICAL');
    expect(maxSeverity([])).toBeUndefined();
  });
});

describe('timestamps', () => {
  it.each([
    ['Mar 14, 2023, 7:46:29 PM', '2023-03-14T19:46:29.000Z'],
    ['Wed Sep 04 16:55:38.411 UTC 2024', '2024-09-04T16:55:38.411Z'],
    ['Fri Nov 20 09:16:19 UTC 2026', '2026-11-20T09:16:19.000Z'],
    ['Jan 1, 2024, 12:05:00 AM', '2024-01-01T00:05:00.000Z'],
    ['Dec 31, 2024, 12:00:01 PM', '2024-12-31T12:00:01.000Z'],
    ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00.000Z'],
    [1_700_000_000, '2023-11-14T22:13:20.000Z'],
    [1_700_000_000.5, '2023-11-14T22:13:20.500Z'],
    ['1700000000', '2023-11-14T22:13:20.000Z'],
    [new Date('2024-01-02T03:04:05Z'), '2024-01-02T03:04:05.000Z'],
  ])('parses %j', (input, iso) => expect(parseTimestamp(input)?.toISOString()).toBe(iso));

  it.each([
    'yesterday',
    'Foo 1, 2024, 1:00:00 PM',
    'Wed Foo 04 16:55:38.411 UTC 2024',
    1e20,
    '99999999999999999',
    '',
    Number.NaN,
    null,
    {},
  ])('returns undefined for %j', (input) => {
    expect(parseTimestamp(input)).toBeUndefined();
  });
});

describe('globs', () => {
  it.each([
    ['prod/api', 'prod/*', 'path', true],
    ['prod/api/v2', 'prod/*', 'path', false],
    ['prod/api/v2', 'prod/**', 'path', true],
    ['prod-api', 'prod?api', 'path', true],
    ['prod.api', 'prod/api', 'path', false],
    [
      'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
      'https://github.com/acme/*',
      'text',
      true,
    ],
    ['https://github.com/evil/app', 'https://github.com/acme/*', 'text', false],
  ] as const)('%s ~ %s (%s) = %s', (value, glob, kind, expected) => {
    expect(matchesGlob(value, glob, kind)).toBe(expected);
  });
});
