import { indexAllowlist } from '../../cluster/webhook/allowlist-index';
import { IndexAssembler, splitIndex } from '../../cluster/webhook/index-transfer';
import {
  type Allowlist,
  buildAllowlist,
  parseAllowlist,
  serialiseAllowlist,
} from '../../shared/domain/allowlist';
import { admitted, digest, ECR } from '../support/cluster';

/** A document with WARN entries, expiries, shared and contested tags, refusals, a bad key. */
function sample(): Allowlist {
  const images = [
    admitted('prod/api', 1, { tags: ['1.0', 'latest'] }),
    admitted('prod/api', 2, { tags: ['latest'] }),
    admitted('prod/api', 3, { verdict: 'WARN', expiresAt: '2026-11-30T00:00:00.000Z' }),
    admitted('prod/web', 4, { verdict: 'WARN', expiresAt: '2026-11-30T00:00:00.000Z' }),
    admitted('prod/web', 5),
    ...Array.from({ length: 40 }, (_, i) =>
      admitted(`team/r${i % 7}`, 100 + i, { tags: [`v${i}`] }),
    ),
  ];
  const document = buildAllowlist(images, {
    sequence: 9,
    now: new Date('2026-11-23T00:00:00Z'),
    validityMs: 86_400_000,
    policyHash: 'sha256:p',
    notAdmitted: {
      complete: true,
      images: [{ registry: ECR, repository: 'prod/api', digest: digest(50), code: 'FAIL' }],
    },
  });
  const parsed = parseAllowlist(serialiseAllowlist(document));
  // A key that is no image name, and one that canonicalises onto another (merged).
  parsed.images['Not A Name!'] = { [digest(60)]: { verdict: 'PASS', tags: [] } };
  parsed.images[`${ECR.toUpperCase()}:443/prod/web`] = {
    [digest(61)]: { verdict: 'PASS', tags: ['x'] },
  };
  return parsed;
}

describe('an index taken apart into parts and put back together', () => {
  it.each([1, 3, 7, 2_000])('is the same index (parts of %i rows)', (rows) => {
    for (const tags of [true, false]) {
      const index = indexAllowlist(sample(), { tags });
      const { header, parts } = splitIndex(index, rows);
      expect(parts.length).toBe(header.parts);
      for (const part of parts) {
        expect(part.images.length + part.tags.length + part.refused.length).toBeLessThanOrEqual(
          rows,
        );
      }
      // Through structured clone, as the worker's messages travel.
      const assembler = new IndexAssembler(structuredClone(header));
      for (const part of parts) assembler.add(structuredClone(part));
      const rebuilt = assembler.finish();
      expect(rebuilt).toEqual(index);
      expect(rebuilt.digests).toBe(index.digests);
      expect(rebuilt.skipped).toEqual(['Not A Name!']);
    }
  });

  it('shares one entry object per (verdict, expiresAt), as indexAllowlist does', () => {
    const { header, parts } = splitIndex(indexAllowlist(sample()), 5);
    expect(header.entries).toHaveLength(2);
    const assembler = new IndexAssembler(header);
    for (const part of parts) assembler.add(part);
    const images = assembler.finish().allowlist.images;
    const api = images[`${ECR}/prod/api`] ?? {};
    const web = images[`${ECR}/prod/web`] ?? {};
    expect(api[digest(3)]).toBe(web[digest(4)]);
    expect(api[digest(1)]).toBe(web[digest(5)]);
  });

  it('refuses to finish with a part missing', () => {
    const { header, parts } = splitIndex(indexAllowlist(sample()), 5);
    const assembler = new IndexAssembler(header);
    for (const part of parts.slice(1)) assembler.add(part);
    expect(() => assembler.finish()).toThrow(`${parts.length - 1} of ${parts.length} parts`);
  });
});
