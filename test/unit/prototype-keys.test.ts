import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { type AdmitOptions, admit } from '../../cluster/webhook/admit';
import { indexAllowlist } from '../../cluster/webhook/allowlist-index';
import { loadFixture } from '../../events';
import { MARSHALL_OPTIONS, recordItem, recordOfItem } from '../../shared/adapters/aws/verdict-item';
import { buildAllowlist } from '../../shared/domain/allowlist';
import { RegistryWatcherError } from '../../shared/domain/errors';
import { evaluate } from '../../shared/domain/evaluate';
import { parsePreviousEvaluation } from '../../shared/domain/previous-schema';
import { completeScan, finding, keyOf, policyOf } from '../support/builders';
import { runCli } from '../support/cli';
import { admitted, ECR } from '../support/cluster';
import { hostileRecord } from '../support/hostile-record';

fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED ?? 20261203) });

/** Names Object.prototype (and friends) answers to: a plain-object lookup finds these. */
const PROTO_NAMES = [
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupSetter__',
];
/** A prototype name most of the time, else any string, so both kinds of key are met. */
const key = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PROTO_NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

const NOW = new Date('2026-12-03T12:00:00Z');
const OPTIONS: AdmitOptions = {
  resolveTags: true,
  unwatchedRegistries: 'deny',
  failureMode: 'closed',
  exemptNamespaces: [],
  breakGlassAnnotation: 'registry-watcher.io/break-glass',
};
const index = indexAllowlist(
  buildAllowlist([admitted('prod/api', 1)], {
    sequence: 1,
    now: new Date('2026-12-03T00:00:00Z'),
    validityMs: 86_400_000,
    policyHash: 'sha256:p',
  }),
);

/** JSON text -> object, as the server gets it: `__proto__` becomes an own key there. */
const asJson = (value: unknown, rename: [string, string][] = []) => {
  let text = JSON.stringify(value);
  for (const [from, to] of rename) text = text.replaceAll(JSON.stringify(from), JSON.stringify(to));
  return JSON.parse(text);
};

describe('admission review: keys named like Object.prototype members', () => {
  it.each(PROTO_NAMES)('kind %s is not a workload (admitted unchecked, no crash)', (kind) => {
    const review = loadFixture('k8s/admission-review-pod');
    const body = asJson({
      ...review,
      request: { ...review.request, kind: { ...review.request.kind, kind } },
    });
    const result = admit(body, 'enforce', index, OPTIONS, NOW);
    expect(result).toMatchObject({ outcome: 'admitted', reason: 'NOT_A_WORKLOAD' });
  });

  it('2,000 reviews with prototype names as kind, spec keys, annotation keys and values', () => {
    const review = loadFixture('k8s/admission-review-deployment');
    fc.assert(
      fc.property(
        fc.constantFrom('Pod', 'Deployment', 'CronJob', 'EphemeralContainers'),
        key,
        key,
        fc.constantFrom('kind', 'spec', 'template', 'metadata', 'annotations', 'containers'),
        fc.constantFrom('enforce', 'warn') as fc.Arbitrary<'enforce' | 'warn'>,
        (kind, field, value, target, mode) => {
          const body = asJson(
            {
              ...review,
              request: { ...review.request, kind: { ...review.request.kind, kind } },
            },
            [[target, field]],
          );
          const object = body.request?.object;
          if (object && typeof object === 'object') {
            object.metadata = { annotations: asJson({ [value]: value }) };
          }
          const result = admit(body, mode, index, OPTIONS, NOW);
          expect(['admitted', 'warned', 'denied']).toContain(result.outcome);
          if (result.response) expect(typeof result.response.allowed).toBe('boolean');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('an image whose repository is a prototype name is denied as not allowlisted', () => {
    for (const name of PROTO_NAMES) {
      const review = loadFixture('k8s/admission-review-pod');
      const body = asJson(review);
      body.request.object.spec.containers = [
        { name: 'c', image: `${ECR}/${name.toLowerCase()}@sha256:${'1'.repeat(64)}` },
      ];
      body.request.object.spec.initContainers = [];
      const result = admit(body, 'enforce', index, OPTIONS, NOW);
      expect(result.outcome).toBe('denied');
      expect(result.reason).toMatch(/NOT_ALLOWLISTED|INVALID_REFERENCE/);
    }
  });
});

describe('evaluate: finding ids, exception ids and repositories named like prototype members', () => {
  const graced = policyOf('defaults:\n  grace: { HIGH: 7d, CRITICAL: 7d }\n');
  const previous = parsePreviousEvaluation({ verdict: 'PASS', admittedAt: '2026-11-01T00:00:00Z' });

  it.each(PROTO_NAMES)('finding %s starts its grace clock under its own name', (id) => {
    const evaluation = evaluate({
      image: keyOf('prod/api'),
      scan: completeScan([finding(id, 'HIGH')], '2026-12-02T00:00:00Z'),
      policy: graced,
      previous,
      now: NOW,
    });
    expect(evaluation.verdict).toBe('WARN');
    expect(Object.entries(evaluation.findingClock)).toEqual([[id, NOW.toISOString()]]);
    // The next evaluation finds the clock again (a week later the deadline has passed).
    const later = evaluate({
      image: keyOf('prod/api'),
      scan: completeScan([finding(id, 'HIGH')], '2026-12-02T00:00:00Z'),
      policy: graced,
      previous: parsePreviousEvaluation(JSON.parse(JSON.stringify(evaluation))),
      now: new Date(NOW.getTime() + 8 * 86_400_000),
    });
    expect(later.verdict).toBe('FAIL');
    expect(later.reasons.map((r) => r.code)).toContain('GRACE_EXPIRED');
  });

  it('2,000 scans, exceptions and repositories keyed by prototype names: exceptions match by id only', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(key, { minLength: 1, maxLength: 4 }),
        key,
        fc.constantFrom(...PROTO_NAMES.map((n) => n.toLowerCase().replace(/^_+/, 'x'))),
        (ids, excepted, repository) => {
          const policy = policyOf(
            [
              'defaults:',
              '  grace: { HIGH: 3d }',
              'repositories:',
              `  - match: ${JSON.stringify(repository)}`,
              '    block: { severity: HIGH }',
              'exceptions:',
              `  - id: ${JSON.stringify(excepted || 'x')}`,
              `    repositories: [${JSON.stringify(repository)}]`,
              '    expires: 2027-01-31',
              '    owner: sec@example.com',
              '    reason: fuzz',
            ].join('\n'),
          );
          const evaluation = evaluate({
            image: keyOf(repository),
            scan: completeScan(
              ids.map((id) => finding(id, 'HIGH')),
              '2026-12-02T00:00:00Z',
            ),
            policy,
            previous: parsePreviousEvaluation(
              asJson({
                verdict: 'PASS',
                findingClock: Object.fromEntries(ids.map((id) => [id, '2026-12-01T00:00:00Z'])),
              }),
            ),
            now: NOW,
          });
          const blocked = ids.filter((id) => id.toUpperCase() !== (excepted || 'x').toUpperCase());
          expect(evaluation.verdict).toBe(blocked.length === 0 ? 'PASS' : 'WARN');
          expect(Object.keys(evaluation.findingClock).sort()).toEqual([...blocked].sort());
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('CLI: --previous and policy check with hostile keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rw-proto-'));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const evaluateWith = (previous: string) =>
    runCli([
      'evaluate',
      '--policy',
      'infra/policy.yaml',
      '--findings',
      'events/ecr/describe-image-scan-findings-basic.json',
      '--previous',
      previous,
      '--now',
      '2026-12-03T00:00:00Z',
    ]);

  it.each([
    ['an array', '[]'],
    ['null', 'null'],
    ['a number', '42'],
    ['no verdict', '{"reasons":[]}'],
    ['reasons not a list', '{"verdict":"PASS","reasons":{"__proto__":1}}'],
    ['a clock that is a list', '{"verdict":"PASS","findingClock":[1]}'],
    ['a clock with a non-time', '{"verdict":"PASS","findingClock":{"constructor":"soon"}}'],
    ['a prototype-named reason', '{"verdict":"PASS","reasons":[{"__proto__":{"code":"X"}}]}'],
  ])('--previous %s: exit 1 and a message naming the file', async (_, text) => {
    const previous = write('previous.json', text);
    const { code, err } = await evaluateWith(previous);
    expect(code).toBe(1);
    expect(err).toContain(`error: ${previous} is not a verdict`);
  });

  it('300 arbitrary JSON values as --previous: exit 0 or 1, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), async (value) => {
        const previous = write('any.json', JSON.stringify(value).replaceAll('"a"', '"__proto__"'));
        const { code } = await evaluateWith(previous);
        expect([0, 1]).toContain(code);
      }),
      { numRuns: 300 },
    );
  });

  it.each(PROTO_NAMES)('policy check with %s as a key: a located problem, exit 1', async (name) => {
    const policy = write(
      'p.yaml',
      `apiVersion: registry-watcher/v1\nkind: Policy\ndefaults:\n  ${JSON.stringify(name)}: 1\n  grace:\n    ${JSON.stringify(name)}: 7d\n`,
    );
    const { code, err } = await runCli(['policy', 'check', policy]);
    expect(code).toBe(1);
    expect(err).toMatch(new RegExp(`${policy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:`));
    expect(err).not.toContain('TypeError');
  });

  it('parsePreviousEvaluation throws only named errors on 2,000 mutated verdicts', () => {
    fc.assert(
      fc.property(fc.dictionary(key, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }), (extra) => {
        try {
          parsePreviousEvaluation(asJson({ verdict: 'PASS', ...extra }));
        } catch (error) {
          expect(error).toBeInstanceOf(RegistryWatcherError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('verdict store items: finding ids, packages, repository, tags and exception named like prototype members', () => {
  /** What documentClient does to an item on the way out and back in (marshall, unmarshall). */
  const throughSdk = (item: Record<string, unknown>) =>
    unmarshall(marshall(item, MARSHALL_OPTIONS));
  const TARGET = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'];

  it('the five target names survive the item codec and the SDK marshalling, as own keys', () => {
    const record = hostileRecord(TARGET, NOW);
    const back = recordOfItem(throughSdk({ pk: 'IMG#x', sk: 'CURRENT', ...recordItem(record) }));
    expect(Object.entries(back.findingClock)).toEqual(Object.entries(record.findingClock));
    expect(Object.keys(back.findingClock)).toEqual(TARGET);
    expect(Object.getPrototypeOf(back.findingClock)).toBe(Object.prototype);
    expect(back).toEqual(record);
  });

  it('without the codec the SDK refuses a `constructor` finding id and drops a `__proto__` one', () => {
    const refused = hostileRecord(['constructor'], NOW);
    expect(() => throughSdk({ ...refused })).toThrow(/Unsupported type passed/);
    const dropped = hostileRecord(['__proto__'], NOW);
    expect(Object.keys(throughSdk({ ...dropped }).findingClock)).toEqual([]);
  });

  it('300 records with prototype-named ids, packages, repositories and tags round-trip whole', () => {
    fc.assert(
      fc.property(fc.uniqueArray(key, { minLength: 1, maxLength: 5 }), (names) => {
        const record = hostileRecord(names, NOW);
        const back = recordOfItem(throughSdk(recordItem(record)));
        expect(Object.entries(back.findingClock)).toEqual(Object.entries(record.findingClock));
        expect(back.tags).toEqual(record.tags);
        expect(back.topFindings).toEqual(record.topFindings);
        expect(back).toEqual(record);
      }),
      { numRuns: 300 },
    );
  });

  it('a map key the SDK would lose, anywhere in a record, is refused by name before the write', () => {
    for (const name of ['__proto__', 'constructor']) {
      const record = { ...hostileRecord(['CVE-1'], NOW), signature: asJson({ [name]: 'x' }) };
      expect(() => recordItem(record)).toThrow(
        expect.objectContaining({
          code: 'INVALID_VERDICT',
          message: expect.stringContaining(`${JSON.stringify(name)} at signature.${name}`),
        }),
      );
    }
  });

  it('a clock stored as a map (items written before the list form) is read through own entries', () => {
    const record = recordOfItem({
      findingClock: asJson({ toString: '2026-12-01T00:00:00Z', hasOwnProperty: 7 }),
    });
    expect(Object.entries(record.findingClock)).toEqual([['toString', '2026-12-01T00:00:00Z']]);
    expect(recordOfItem({}).findingClock).toEqual({});
  });
});
