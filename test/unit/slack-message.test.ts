import fc from 'fast-check';
import { loadFixture } from '../../events';
import { digestMessage } from '../../shared/adapters/aws/sns-messages';
import {
  type Block,
  digestSlackMessage,
  escapeMrkdwn,
  SLACK_LIMITS,
  type SlackMessage,
  verdictSlackMessage,
} from '../../shared/adapters/slack/message';
import { parseAnnouncement } from '../../shared/domain/announcement';
import { buildDailyDigest } from '../../shared/domain/daily-digest';
import type { VerdictEvent } from '../../shared/domain/verdict-event';
import type { VerdictRecord } from '../../shared/domain/verdict-record';
import { digestOf, REGISTRY } from '../support/builders';

function fixtureEvent(): VerdictEvent {
  const body = loadFixture('sns/verdict-event').Records[0]?.Sns.Message ?? '';
  const parsed = parseAnnouncement(body);
  if (parsed.kind !== 'VerdictChanged') throw new Error('fixture is not a verdict event');
  return parsed.event;
}

function texts(message: SlackMessage): string[] {
  return message.blocks.flatMap((b) => {
    if (b.type === 'header') return [b.text.text];
    if (b.type === 'section') return [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text)];
    if (b.type === 'context') return b.elements.map((e) => e.text);
    return [];
  });
}

/** Every Block Kit limit the Slack API enforces on what we send. */
function expectWithinLimits(message: SlackMessage): void {
  expect(message.text.length).toBeGreaterThan(0);
  expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  for (const block of message.blocks as Block[]) {
    if (block.type === 'header') {
      expect(block.text.type).toBe('plain_text');
      expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.header);
    }
    if (block.type === 'section') {
      expect(block.text !== undefined || (block.fields?.length ?? 0) > 0).toBe(true);
      expect(block.text?.text.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.text);
      expect(block.fields?.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.fields);
      for (const f of block.fields ?? [])
        expect(f.text.length).toBeLessThanOrEqual(SLACK_LIMITS.field);
    }
  }
}

describe('Slack message for a verdict transition', () => {
  const message = verdictSlackMessage(fixtureEvent());

  it('leads with a PASS → FAIL header naming the image', () => {
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: ':no_entry: PASS → FAIL  prod/api:1.4.2', emoji: true },
    });
    expect(message.text).toMatch(
      /^PASS → FAIL: prod\/api:1\.4\.2 \(CRITICAL 1 · HIGH 2 · MEDIUM 1 · LOW 1\)$/,
    );
  });

  it('shows image (linked to the ECR console), tags, verdict and severity counts', () => {
    const fields = message.blocks[1];
    expect(fields?.type).toBe('section');
    const text = texts({ text: 'x', blocks: [fields as Block] }).join('\n');
    expect(text).toContain(
      '<https://eu-west-1.console.aws.amazon.com/ecr/repositories/private/123456789012/prod/api/_/image/sha256:73235fc1',
    );
    expect(text).toContain('`1.4.2`, `latest`');
    expect(text).toContain('FAIL (not admitted), was PASS');
    expect(text).toContain('CRITICAL 1 · HIGH 2 · MEDIUM 1 · LOW 1');
  });

  it('lists reasons (blocking first), top findings with severity, package, fix and link, and deadlines', () => {
    const all = texts(message).join('\n');
    expect(all).toMatch(
      /\*Reasons\*\n• `GRACE_EXPIRED`.*\n• `GRACE_PERIOD`.*\n• `EXCEPTION_APPLIED`/,
    );
    expect(all).toContain(
      '• *CRITICAL* <https://security-tracker.debian.org/tracker/CVE-2024-37371|CVE-2024-37371> `libkrb5-3` 1.20.1 → fixed in 0:1.20.1-2+deb12u2 CVSS 9.1 *blocking*',
    );
    expect(all).toContain('*Deadlines*\n• Remediation deadline: *2026-11-30 02:14 UTC*');
    expect(all).toContain('transition `9265367ca05d7cf7e63327161d68fb30`');
    expectWithinLimits(message);
  });

  it('shows a deletion as leaving the registry, not as a verdict change', () => {
    const event = {
      ...fixtureEvent(),
      verdict: 'PASS' as const,
      deletedAt: '2026-11-23T05:00:00.000Z',
    };
    const deleted = verdictSlackMessage(event);
    expect(deleted.blocks[0]).toMatchObject({
      text: { text: ':wastebasket: PASS → deleted  prod/api:1.4.2' },
    });
    expect(texts(deleted).join('\n')).toContain(
      'PASS (image deleted 2026-11-23 05:00 UTC: not admitted)',
    );
  });

  it('escapes what Slack would read as markup', () => {
    expect(escapeMrkdwn('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
    const event = fixtureEvent();
    event.reasons = [{ code: 'VULNERABILITY', effect: 'fail', message: 'ping <!here>' }];
    expect(texts(verdictSlackMessage(event)).join('\n')).toContain('ping &lt;!here&gt;');
  });

  it('stays within every Block Kit limit whatever the content', () => {
    const event = fixtureEvent();
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 400 }), { maxLength: 60 }),
        fc.array(fc.string({ minLength: 1, maxLength: 300 }), { maxLength: 12 }),
        fc.string({ maxLength: 300 }),
        (messages, tags, pkg) => {
          const message = verdictSlackMessage({
            ...event,
            image: { ...event.image, tags, repository: `prod/${pkg.length}` },
            reasons: messages.map((m) => ({ code: 'VULNERABILITY', effect: 'fail', message: m })),
            topFindings: event.topFindings.map((f) => ({ ...f, package: { name: pkg } })),
          });
          expectWithinLimits(message);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('daily digest', () => {
  const now = new Date('2026-11-23T03:00:00.000Z');
  function record(n: number, over: Partial<VerdictRecord>): VerdictRecord {
    return {
      registry: REGISTRY,
      repository: `team/r${n}`,
      digest: digestOf(n),
      tags: [`v${n}`],
      scan: { state: 'complete', status: 'COMPLETE', scanner: 'ecr-basic' },
      verdict: 'PASS',
      reasons: [],
      severityCounts: { UNDEFINED: 0, INFORMATIONAL: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0 },
      maxSeverity: 'NONE',
      topFindings: [],
      findingClock: {},
      policyHash: 'sha256:p',
      evaluatedAt: now.toISOString(),
      version: 1,
      ...over,
    };
  }
  const exception = (id: string, expiresAt: string) => ({
    code: 'EXCEPTION_APPLIED' as const,
    effect: 'info' as const,
    message: id,
    exception: { id, owner: 'sec@acme.example', expiresAt },
  });
  const records = [
    record(1, {}),
    record(2, { verdict: 'WARN', reasons: [exception('CVE-A', '2026-11-25T00:00:00.000Z')] }),
    record(3, { verdict: 'PASS', reasons: [exception('CVE-A', '2026-11-25T00:00:00.000Z')] }),
    record(4, { verdict: 'PASS', reasons: [exception('CVE-B', '2026-12-25T00:00:00.000Z')] }),
    record(5, {
      verdict: 'FAIL',
      previousVerdict: 'PASS',
      transitionAt: '2026-11-23T02:00:00.000Z',
      maxSeverity: 'CRITICAL',
      reasons: [{ code: 'VULNERABILITY', effect: 'fail', message: 'CVE-9 blocks' }],
    }),
    record(6, {
      verdict: 'FAIL',
      previousVerdict: 'PASS',
      transitionAt: '2026-11-21T02:00:00.000Z',
    }),
    record(7, { verdict: 'FAIL', transitionAt: '2026-11-22T22:00:00.000Z' }),
    record(8, { verdict: 'PENDING' }),
    record(9, {
      verdict: 'FAIL',
      previousVerdict: 'PASS',
      transitionAt: '2026-11-23T01:00:00.000Z',
      deletedAt: '2026-11-23T01:00:00.000Z',
    }),
  ];

  it('counts current verdicts, lists FAILs of the last 24 h and exceptions ending within 7 days', () => {
    const digest = buildDailyDigest(records, { now, run: { imagesPlanned: 9 } });
    expect(digest.counts).toEqual({ PASS: 3, WARN: 1, FAIL: 3, PENDING: 1, ERROR: 0 });
    expect(digest.total).toBe(8);
    expect(digest.newFailCount).toBe(2);
    expect(digest.newFails.map((f) => f.repository)).toEqual(['team/r5', 'team/r7']);
    expect(digest.newFails[0]).toMatchObject({
      previousVerdict: 'PASS',
      maxSeverity: 'CRITICAL',
      reason: 'CVE-9 blocks',
    });
    expect(digest.expiringExceptions).toEqual([
      expect.objectContaining({ id: 'CVE-A', images: 2, expiresAt: '2026-11-25T00:00:00.000Z' }),
    ]);
    expect(digest.id).toBe('digest-2026-11-23');
  });

  it('publishes as type=digest and renders for Slack', () => {
    const digest = buildDailyDigest(records, { now });
    const message = digestMessage(digest);
    expect(message.attributes).toEqual({ type: 'digest', newFails: '2' });
    expect(message.subject).toBe(
      '[registry-watcher] daily digest 2026-11-23: 2 new FAIL, 3 FAIL of 8, 1 exception(s) expiring',
    );
    const slack = digestSlackMessage(digest);
    const all = texts(slack).join('\n');
    expect(all).toContain('*New FAILs in the last 24 h: 2*');
    expect(all).toContain('• team/r5:v5 (was PASS, CRITICAL): CVE-9 blocks');
    expect(all).toContain(
      '• `CVE-A` (sec@acme.example) ends 2026-11-25 00:00 UTC, relied on by 2 digest(s)',
    );
    expectWithinLimits(slack);
  });

  it('lists at most 50 new FAILs and says how many more', () => {
    const many = Array.from({ length: 130 }, (_, i) =>
      record(100 + i, {
        verdict: 'FAIL',
        previousVerdict: 'PASS',
        transitionAt: new Date(now.getTime() - (i + 1) * 60_000).toISOString(),
      }),
    );
    const digest = buildDailyDigest(many, { now });
    expect(digest.newFailCount).toBe(130);
    expect(digest.newFails).toHaveLength(50);
    expect(digest.newFails[0]?.repository).toBe('team/r100');
    const slack = digestSlackMessage(digest);
    expect(texts(slack).join('\n')).toContain('_… and 80 more_');
    expectWithinLimits(slack);
  });

  it('reads the digest fixture', () => {
    const parsed = parseAnnouncement(loadFixture('sns/daily-digest').Records[0]?.Sns.Message ?? '');
    expect(parsed.kind).toBe('DailyDigest');
  });
});
