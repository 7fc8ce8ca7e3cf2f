import { loadFixture } from '../../events';
import { ECR_SCANNERS, normaliseScanFindings } from '../../shared/adapters/aws/ecr-findings';
import {
  evaluateRequestEvent,
  requestsFromEvent,
  requestsFromMessageBody,
} from '../../shared/adapters/aws/evaluate-events';
import { parseInspectorFinding } from '../../shared/adapters/aws/inspector-findings';
import { MemoryFindingsFacts } from '../../shared/adapters/local/memory-findings-facts';
import { InvalidEventError, InvalidFindingsError } from '../../shared/domain/errors';
import { evaluate } from '../../shared/domain/evaluate';
import { UNKNOWN_SCANNERS } from '../../shared/domain/findings';
import {
  decodeFindings,
  encodeFindings,
  factsOfScan,
  factsRefOf,
  reusableRef,
  sameScan,
  scanOfFacts,
} from '../../shared/domain/findings-facts';
import { completeScan, finding, keyOf, policyOf, scanIn } from '../support/builders';

const key = keyOf('prod/api');
const basic = normaliseScanFindings(loadFixture('ecr/describe-image-scan-findings-basic'));
const enhanced = normaliseScanFindings(loadFixture('ecr/describe-image-scan-findings-enhanced'));

describe('findings facts encoding', () => {
  it.each([
    ['basic', basic],
    ['enhanced', enhanced],
  ])('keeps every judged field of the %s fixture, and leaves the title out', (_name, scan) => {
    const decoded = decodeFindings(encodeFindings(scan.findings));
    expect(decoded).toHaveLength(scan.findings.length);
    expect(scan.findings.some((f) => f.title)).toBe(true);
    scan.findings.forEach((original, i) => {
      const { title: _title, ...judged } = original;
      expect(decoded[i]).toEqual(judged);
    });
  });

  it("keeps Inspector's exploit, EPSS, score and first-seen data", () => {
    const event = loadFixture('eventbridge/inspector2-finding-ecr');
    const { title: _title, ...judged } = parseInspectorFinding(event.detail);
    expect(judged).toMatchObject({ epss: 0.94416, exploitAvailable: true, inspectorScore: 7.5 });
    expect(judged.firstObservedAt).toEqual(expect.any(String));
    expect(decodeFindings(encodeFindings([judged]))).toEqual([judged]);
  });

  it('writes fields by position, without names', () => {
    const text = encodeFindings([finding('CVE-2024-1', 'HIGH', { package: { name: 'zlib' } })]);
    expect(text).toBe('[["CVE-2024-1",4,"zlib"]]');
  });

  it.each([
    ['not JSON', '[[', /not JSON/],
    ['not rows', '{"a":1}', /not an f1 findings encoding/],
    ['a severity out of range', '[["CVE-1",9]]', /not an f1 findings encoding/],
    ['an empty id', '[["",1]]', /not an f1 findings encoding/],
    ['a number where a package name goes', '[["CVE-1",1,7]]', /finding 0 \(CVE-1\)/],
    [
      'a flag that is not 0 or 1',
      '[["CVE-1",1,null,null,null,null,null,null,null,2]]',
      /malformed/,
    ],
  ])('refuses %s with InvalidFindingsError', (_what, text, message) => {
    expect(() => decodeFindings(text)).toThrow(InvalidFindingsError);
    expect(() => decodeFindings(text)).toThrow(message);
  });

  // Kinds by position after id and severity (t text, n number, b 0/1 flag), as encodeFindings writes.
  const kinds = 'ttttnttbbnnttt';
  const good = { t: 'x', n: 1.5, b: 1 } as const;
  const bad = { t: 3, n: 'x', b: 2 } as const;
  it.each([...kinds].map((k, i) => [i + 2, k as keyof typeof good]))(
    'refuses a row whose field %i is of the wrong kind, and reads it when right',
    (at, kind) => {
      const row: unknown[] = ['CVE-1', 2, ...Array.from(kinds, () => null)];
      row[at] = good[kind];
      expect(decodeFindings(JSON.stringify([row]))).toHaveLength(1);
      row[at] = bad[kind];
      expect(() => decodeFindings(JSON.stringify([row]))).toThrow(/finding 0 \(CVE-1\)/);
    },
  );

  it('refuses a row with more fields than the encoding has', () => {
    const row = ['CVE-1', 2, ...Array.from(kinds, () => null), 'extra'];
    expect(() => decodeFindings(JSON.stringify([row]))).toThrow(InvalidFindingsError);
  });

  it('gives the same hash to the same findings and another to a changed one', () => {
    const facts = factsOfScan(key, enhanced);
    if (!facts) throw new Error('expected facts of a complete scan');
    const again = factsOfScan(
      key,
      normaliseScanFindings(loadFixture('ecr/describe-image-scan-findings-enhanced')),
    );
    expect(factsRefOf(facts)).toEqual(again && factsRefOf(again));
    const changed = {
      ...facts,
      findings: facts.findings.map((f, i) => (i === 0 ? { ...f, fixedIn: '9.9' } : f)),
    };
    expect(factsRefOf(changed).hash).not.toBe(factsRefOf(facts).hash);
    expect(factsRefOf(facts)).toMatchObject({
      digest: key.digest,
      scanner: 'inspector',
      completedAt: enhanced.completedAt,
      count: enhanced.findings.length,
    });
  });
});

describe('facts of a scan', () => {
  it('are kept of complete scans only', () => {
    expect(factsOfScan(key, scanIn('in-progress', 'IN_PROGRESS'))).toBeUndefined();
    expect(factsOfScan(key, scanIn('unscanned', 'FAILED'))).toBeUndefined();
    expect(factsOfScan(key, completeScan([]))?.findings).toEqual([]);
  });

  it('name their scan by scanner and completion time', () => {
    const ref = { scanner: 'ecr-basic' as const, completedAt: '2026-11-22T00:00:00.000Z' };
    expect(sameScan(ref, { completedAt: '2026-11-22T00:00:00.000Z' })).toBe(true);
    expect(sameScan(ref, { completedAt: '2026-11-23T00:00:00.000Z' })).toBe(false);
    expect(sameScan(ref, { completedAt: ref.completedAt, scanner: 'inspector' })).toBe(false);
  });

  it('are reused without a listed scan time only for a scanner that scans when asked', () => {
    const at = '2026-11-22T00:00:00.000Z';
    const ref = (scanner: string) => ({
      digest: key.digest,
      scanner,
      completedAt: at,
      hash: 'ab'.repeat(16),
      count: 1,
    });
    const onRequest = { onRequest: ['trivy-on-push'], fallback: 'trivy-on-push' };
    // The traits decide, not the name: a scanner the domain does not know is reused when
    // its adapter says it scans on request, ECR basic is not when its traits are unknown.
    expect(reusableRef([ref('trivy-on-push')], key.digest, undefined, onRequest)).toEqual(
      ref('trivy-on-push'),
    );
    expect(
      reusableRef([ref('trivy-on-push')], key.digest, undefined, ECR_SCANNERS),
    ).toBeUndefined();
    expect(reusableRef([ref('ecr-basic')], key.digest, undefined, ECR_SCANNERS)).toEqual(
      ref('ecr-basic'),
    );
    expect(
      reusableRef([ref('ecr-basic')], key.digest, undefined, UNKNOWN_SCANNERS),
    ).toBeUndefined();
    expect(reusableRef([ref('inspector')], key.digest, undefined, ECR_SCANNERS)).toBeUndefined();
    // A listed scan time decides for every scanner.
    expect(reusableRef([ref('inspector')], key.digest, at, UNKNOWN_SCANNERS)).toEqual(
      ref('inspector'),
    );
    expect(
      reusableRef([ref('ecr-basic')], key.digest, '2026-11-23T00:00:00.000Z', ECR_SCANNERS),
    ).toBeUndefined();
  });

  it('judge exactly as the scan they were taken from', () => {
    const policy = policyOf('defaults:\n  block:\n    severity: HIGH\n');
    const now = new Date('2026-11-23T00:00:00Z');
    for (const scan of [basic, enhanced]) {
      const facts = factsOfScan(key, scan);
      if (!facts) throw new Error('expected facts');
      const stored = decodeFindings(encodeFindings(facts.findings));
      const rebuilt = scanOfFacts({ ...facts, findings: stored });
      const { findings: _a, ...summary } = scan;
      const { findings: _b, ...rebuiltSummary } = rebuilt;
      expect(rebuiltSummary).toEqual(summary);
      const fromFacts = evaluate({ image: key, scan: rebuilt, policy, now });
      expect(fromFacts).toEqual(evaluate({ image: key, scan, policy, now }));
      expect(fromFacts.verdict).toBe('FAIL');
    }
  });
});

describe('MemoryFindingsFacts', () => {
  it('reads back what it stored, by manifest and scan', async () => {
    const store = new MemoryFindingsFacts();
    const facts = factsOfScan(key, enhanced);
    if (!facts) throw new Error('expected facts');
    const ref = await store.put(facts);
    expect(ref).toEqual(factsRefOf(facts));
    expect(await store.get(key, ref)).toEqual(facts);
    expect(
      await store.get(key, { ...ref, completedAt: '2020-01-01T00:00:00.000Z' }),
    ).toBeUndefined();
    expect(await store.get({ ...key, repository: 'other' }, ref)).toBeUndefined();
    const all = [];
    for await (const page of store.pages()) all.push(...page);
    expect(all).toEqual([facts]);
  });
});

describe('evaluate requests that carry the listing', () => {
  const seen = {
    key,
    tags: ['1.0', 'latest'],
    mediaType: 'application/vnd.oci.image.index.v1+json',
    scanCompletedAt: '2026-11-22T00:00:00.000Z',
    platforms: [
      {
        digest: keyOf('prod/api', 7).digest,
        platform: 'linux/amd64',
        scanCompletedAt: '2026-11-21T00:00:00.000Z',
      },
    ],
  };

  it('come back as they were sent', () => {
    const body = JSON.stringify(
      evaluateRequestEvent(key, 'rescan', new Date('2026-11-23T02:00:00Z'), seen),
    );
    expect(requestsFromMessageBody(body)).toEqual([
      { key, trigger: 'rescan', eventTime: '2026-11-23T02:00:00.000Z', seen },
    ]);
  });

  it('are refused when the listing is malformed', () => {
    const event = evaluateRequestEvent(key, 'rescan', new Date('2026-11-23T02:00:00Z'), {
      ...seen,
      platforms: [{ digest: 'sha256:nope', platform: 'linux/amd64' }],
    });
    expect(() => requestsFromEvent(event)).toThrow(InvalidEventError);
  });

  it('have no listing unless one was sent', () => {
    const [request] = requestsFromEvent(evaluateRequestEvent(key, 'rescan', new Date()));
    expect(request && 'seen' in request).toBe(false);
  });
});
