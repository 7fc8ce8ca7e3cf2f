import {
  type AdmitOptions,
  admit,
  MAX_BREAK_GLASS_REASON,
  visibleReason,
} from '../../cluster/webhook/admit';
import { AllowlistHolder } from '../../cluster/webhook/allowlist-holder';
import { indexAllowlist } from '../../cluster/webhook/allowlist-index';
import { MAX_STATUS_MESSAGE, MAX_WARNING } from '../../cluster/webhook/messages';
import { FileSource } from '../../cluster/webhook/sources';
import { buildAllowlist } from '../../shared/domain/allowlist';
import { admitted, digest, ECR, reviewWith } from '../support/cluster';

const NOW = new Date('2026-12-03T12:00:00Z');
const API = `${ECR}/prod/api`;
const index = indexAllowlist(
  buildAllowlist([admitted('prod/api', 1)], {
    sequence: 1,
    now: new Date('2026-12-03T00:00:00Z'),
    validityMs: 86_400_000,
    policyHash: 'sha256:p',
  }),
);
const OPTIONS: AdmitOptions = {
  resolveTags: false,
  unwatchedRegistries: 'deny',
  failureMode: 'closed',
  exemptNamespaces: [],
  breakGlassAnnotation: 'registry-watcher.io/break-glass',
};
const MB = 1024 * 1024;

describe('bounded answers: a huge review gives a small status.message', () => {
  it('a 7 MB reference: the denial message stays under 4 KiB and still names the field', () => {
    const huge = `${ECR}/${'a'.repeat(7 * MB)}@${digest(9)}`;
    const review = reviewWith('k8s/admission-review-pod', { containers: [huge, huge] });
    const result = admit(review, 'enforce', index, OPTIONS, NOW);
    const message = result.response?.status?.message ?? '';
    console.log(
      `review with 2 references of ${huge.length} characters: status.message ${message.length} characters`,
    );
    expect(result.outcome).toBe('denied');
    expect(message.length).toBeLessThanOrEqual(MAX_STATUS_MESSAGE);
    expect(message).toContain('spec.containers[0] (container-0)');
    expect(message).toContain('spec.containers[1]');
  });

  it('1,000 denied containers: whole lines up to 10 that fit, then the count of the rest', () => {
    const images = Array.from({ length: 1000 }, (_, i) => `${API}@${digest(i + 100)}`);
    const result = admit(
      reviewWith('k8s/admission-review-pod', { containers: images }),
      'enforce',
      index,
      OPTIONS,
      NOW,
    );
    const message = result.response?.status?.message ?? '';
    const listed = message.match(/spec\.containers\[\d+\]/g)?.length ?? 0;
    expect(listed).toBeGreaterThanOrEqual(5);
    expect(listed).toBeLessThanOrEqual(10);
    expect(message.endsWith(`; and ${1000 - listed} more`)).toBe(true);
    expect(message.length).toBeLessThanOrEqual(MAX_STATUS_MESSAGE);
    expect(result.response?.warnings ?? []).toEqual([]);
  });
});

describe('break-glass needs a visible reason', () => {
  const withReason = (reason: string) => {
    const review = reviewWith('k8s/admission-review-pod', { containers: [`${API}@${digest(9)}`] });
    (review.request.object.metadata as Record<string, unknown>).annotations = {
      'registry-watcher.io/break-glass': reason,
    };
    return admit(review, 'enforce', index, OPTIONS, NOW);
  };

  it.each([
    ['zero-width space', '\u200b'],
    ['zero-width joiners and BOM', '\u200d\u200c\ufeff'],
    ['no-break and ideographic spaces', '\u00a0\u3000 \t'],
    ['bidi marks', '\u200e\u202e\u2066'],
    ['Hangul fillers', '\u3164\u115f\uffa0'],
    ['a lone combining mark', '\u0301'],
    ['blank braille', '\u2800\u2800'],
    ['newlines', '\n\r\n'],
  ])('%s is no reason: denied, with a warning that says why', (_, reason) => {
    const result = withReason(reason);
    expect(result.outcome).toBe('denied');
    expect(result.response?.warnings?.[0]).toContain('break-glass ignored');
    expect(result.response?.warnings?.[0]?.length).toBeLessThanOrEqual(MAX_WARNING);
  });

  it.each(['INC-42', '\u200bINC-42\u200b', 'é', '事故 42', '🔥'])('%j is a reason', (reason) => {
    const result = withReason(reason);
    expect(result).toMatchObject({ outcome: 'warned', reason: 'BREAK_GLASS' });
  });

  it('a 1 MB reason is cut for the audit line and the warning', () => {
    const result = withReason(`INC-1 ${'x'.repeat(MB)}\nsecond line`);
    expect(result.decision?.breakGlass?.length).toBe(MAX_BREAK_GLASS_REASON);
    expect(result.response?.warnings?.every((w) => w.length <= MAX_WARNING)).toBe(true);
  });

  it('visibleReason keeps the text on one line', () => {
    expect(visibleReason(' INC-7\nrollback ')).toBe('INC-7 rollback');
  });
});

describe('refresh failures keep their detail in the log', () => {
  it('the reason goes in `detail`: Powertools Logger drops a `message` field', async () => {
    const entries: { message: string; fields: Record<string, unknown> }[] = [];
    const at = (message: string, ...extra: Record<string, unknown>[]) =>
      entries.push({ message, fields: Object.assign({}, ...extra) });
    const holder = new AllowlistHolder({
      source: new FileSource('/nonexistent/allowlist.json'),
      publicKeyPem: '',
      tags: false,
      log: { debug: at, info: at, warn: at, error: at },
    });
    await holder.refresh();
    const line = entries.find((e) => e.message.startsWith('allowlist refresh failed'));
    expect(line?.fields).not.toHaveProperty('message');
    expect(line?.fields).toMatchObject({
      result: 'unreachable',
      detail: 'cannot read /nonexistent/allowlist.json: ENOENT',
    });
  });
});
