import { indexAllowlist } from '../../cluster/webhook/allowlist-index';
import { checkImage } from '../../cluster/webhook/decide';
import type { DecisionOptions } from '../../cluster/webhook/decision';
import {
  buildAllowlist,
  parseAllowlist,
  type RefusedImage,
  serialiseAllowlist,
} from '../../shared/domain/allowlist';
import { admitted, digest, ECR } from '../support/cluster';

const NOW = new Date('2026-11-23T12:00:00Z');
const API = `${ECR}/prod/api`;
const OPTIONS: DecisionOptions = {
  resolveTags: false,
  unwatchedRegistries: 'deny',
  failureMode: 'closed',
};
const refused = (n: number, code: RefusedImage['code']): RefusedImage => ({
  registry: ECR,
  repository: 'prod/api',
  digest: digest(n),
  code,
});

/** A document as the publisher builds it, through its bytes and the consumer's parser. */
function indexWith(notAdmitted?: { images: RefusedImage[]; complete: boolean }) {
  const document = buildAllowlist([admitted('prod/api', 1)], {
    sequence: 3,
    now: new Date('2026-11-23T00:00:00Z'),
    validityMs: 86_400_000,
    policyHash: 'sha256:p',
    ...(notAdmitted && { notAdmitted }),
  });
  return indexAllowlist(parseAllowlist(serialiseAllowlist(document)));
}

const container = (n: number) => ({
  field: 'spec.containers[0]',
  kind: 'containers' as const,
  name: 'app',
  image: `${API}@${digest(n)}`,
});

describe('the denial says which applies, and names the command', () => {
  const index = indexWith({
    complete: true,
    images: [
      refused(2, 'FAIL'),
      refused(3, 'PENDING'),
      refused(4, 'ERROR'),
      refused(5, 'DELETED'),
      refused(6, 'EXPIRED'),
      // Read from the two indexes apart: the admitted entry wins.
      refused(1, 'FAIL'),
    ],
  });

  it.each([
    [2, 'failed its evaluation (verdict FAIL)'],
    [3, 'pending (verdict PENDING: its scan has not finished)'],
    [4, 'could not be evaluated (verdict ERROR; it is retried)'],
    [5, 'deleted from the registry (push it again, or use a digest that exists)'],
    [6, 'admission ended (grace period or exception ran out)'],
    [9, 'never evaluated (as of the allowlist of 2026-11-23T00:00:00.000Z; push it'],
  ])('digest %i: %s', (n, says) => {
    const check = checkImage(container(n), index, OPTIONS, NOW);
    expect(check).toMatchObject({ outcome: 'deny', reason: 'NOT_ALLOWLISTED' });
    expect(check.message.startsWith(says)).toBe(true);
    expect(check.message.length).toBeLessThanOrEqual(300);
    expect(check.message).toMatch(
      new RegExp(`: run registry-watcher explain ${API}@${digest(n)}$`.replace(/[./]/g, '\\$&')),
    );
  });

  it('admits what the allowlist admits, whatever the section says', () => {
    expect(checkImage(container(1), index, OPTIONS, NOW).outcome).toBe('admit');
  });

  it('does not claim "never evaluated" when the section is cut short or absent', () => {
    for (const idx of [indexWith({ complete: false, images: [refused(2, 'FAIL')] }), indexWith()]) {
      const message = checkImage(container(9), idx, OPTIONS, NOW).message;
      expect(message).toContain(
        'not in the allowlist (never evaluated, pending, failed or deleted: this allowlist does not say which)',
      );
    }
    expect(indexWith().refused).toBeUndefined();
  });

  it('fits the explain command inside the quoted message length', () => {
    const check = checkImage(container(9), indexWith(), OPTIONS, NOW);
    expect(check.message.length).toBeLessThanOrEqual(300);
  });
});

describe('the notAdmitted section', () => {
  it('is sorted and left out unless asked for, so equal input gives equal bytes', () => {
    const a = serialiseAllowlist(
      buildAllowlist([], {
        sequence: 1,
        now: NOW,
        validityMs: 1,
        policyHash: 'p',
        notAdmitted: { complete: true, images: [refused(3, 'FAIL'), refused(2, 'DELETED')] },
      }),
    ).toString();
    expect(a).toContain(
      `"notAdmitted":{"complete":true,"images":{"${API}":{"${digest(2)}":"DELETED","${digest(3)}":"FAIL"}}}`,
    );
    expect(
      serialiseAllowlist(
        buildAllowlist([], { sequence: 1, now: NOW, validityMs: 1, policyHash: 'p' }),
      ).toString(),
    ).not.toContain('notAdmitted');
  });

  it('is refused by the consumer when a code is not one it knows', () => {
    const document = JSON.parse(serialiseAllowlist(indexWith().allowlist).toString());
    document.notAdmitted = { complete: true, images: { [API]: { [digest(2)]: 'MAYBE' } } };
    expect(() => parseAllowlist(JSON.stringify(document))).toThrow(/notAdmitted\.images/);
  });
});
