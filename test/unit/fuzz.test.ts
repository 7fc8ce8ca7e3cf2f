import fc from 'fast-check';
import { stringify } from 'yaml';
import { type FixtureName, loadFixture } from '../../events';
import { normaliseScanFindings } from '../../shared/adapters/aws/ecr-findings';
import { requestsFromAnyEvent } from '../../shared/adapters/aws/evaluate-events';
import { RegistryWatcherError } from '../../shared/domain/errors';
import { evaluate } from '../../shared/domain/evaluate';
import { parsePolicy } from '../../shared/domain/policy-yaml';
import { keyOf } from '../support/builders';

// A fixed seed keeps CI reproducible; FUZZ_SEED=<n> explores other inputs locally.
fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED ?? 20261123) });

/**
 * 10,000 random or mutated inputs in all: the parsers either succeed or throw one of our
 * named errors. Anything else (TypeError, RangeError, a zod error escaping) is a crash.
 */
function onlyNamedErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof RegistryWatcherError)) throw error;
    expect(error.code).toMatch(/^[A-Z_]+$/);
    expect(error.message.length).toBeGreaterThan(0);
  }
}

/** Replaces, deletes or retypes the value at a random path of a JSON document. */
const mutation = (doc: unknown) =>
  fc
    .tuple(fc.nat(), fc.oneof(fc.jsonValue(), fc.constant(undefined)), fc.boolean())
    .map(([pick, value, drop]) => {
      const copy = structuredClone(doc) as Record<string, unknown>;
      const containers: [Record<string, unknown>, string][] = [];
      const walk = (node: unknown) => {
        if (node && typeof node === 'object') {
          for (const k of Object.keys(node)) {
            containers.push([node as Record<string, unknown>, k]);
            walk((node as Record<string, unknown>)[k]);
          }
        }
      };
      walk(copy);
      const target = containers[pick % Math.max(containers.length, 1)];
      if (target) {
        const [parent, k] = target;
        if (drop) delete parent[k];
        else parent[k] = value;
      }
      return copy;
    });

const EVENTS: FixtureName[] = [
  'eventbridge/ecr-image-action-push',
  'eventbridge/ecr-image-action-delete',
  'eventbridge/ecr-image-scan-complete',
  'eventbridge/inspector2-scan-ecr',
  'eventbridge/inspector2-finding-ecr',
  'sqs/ecr-push-in-sqs',
];

const VALID_POLICY = {
  apiVersion: 'registry-watcher/v1',
  kind: 'Policy',
  defaults: {
    block: { severity: 'HIGH', onlyFixable: false, maxCvss: 9 },
    unscanned: 'deny',
    maxScanAge: '7d',
    grace: { CRITICAL: '0d', HIGH: '7d' },
    signatures: { required: false },
  },
  repositories: [{ match: 'prod/*', block: { severity: 'MEDIUM' } }],
  exceptions: [
    { id: 'CVE-1', repositories: ['prod/api'], expires: '2027-01-31', owner: 'o@x', reason: 'r' },
  ],
};

describe('fuzz: only named errors, never a crash', () => {
  it('events: 2,000 arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => onlyNamedErrors(() => requestsFromAnyEvent(v))),
      { numRuns: 2000 },
    );
  });

  it('events: 2,000 mutations of real events', () => {
    const docs = EVENTS.map((name) => loadFixture(name));
    fc.assert(
      fc.property(fc.constantFrom(...docs).chain(mutation), (event) =>
        onlyNamedErrors(() => requestsFromAnyEvent(event)),
      ),
      { numRuns: 2000 },
    );
  });

  it('policies: 2,000 arbitrary texts', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) =>
        onlyNamedErrors(() => parsePolicy(text, 'fuzz.yaml')),
      ),
      {
        numRuns: 2000,
      },
    );
  });

  it('policies: 2,000 mutations of a valid policy, and evaluating the ones that parse', () => {
    const scan = normaliseScanFindings(loadFixture('ecr/describe-image-scan-findings-enhanced'));
    fc.assert(
      fc.property(mutation(VALID_POLICY), (doc) => {
        onlyNamedErrors(() => {
          const policy = parsePolicy(stringify(doc), 'fuzz.yaml');
          // Verdict properties live in verdict-properties.test.ts; here: no crash.
          evaluate({
            image: keyOf('prod/api'),
            scan,
            policy,
            now: new Date('2026-11-23T00:00:00Z'),
          });
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('findings responses: 2,000 mutations', () => {
    const docs = [
      loadFixture('ecr/describe-image-scan-findings-basic'),
      loadFixture('ecr/describe-image-scan-findings-enhanced'),
    ];
    fc.assert(
      fc.property(fc.constantFrom(...docs).chain(mutation), (response) =>
        onlyNamedErrors(() => normaliseScanFindings(response)),
      ),
      { numRuns: 2000 },
    );
  });
});
