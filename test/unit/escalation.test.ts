import fc from 'fast-check';
import { loadFixture } from '../../events';
import { escalationMessage } from '../../shared/adapters/aws/sns-messages';
import { escalationSlackMessage, SLACK_LIMITS } from '../../shared/adapters/slack/message';
import { parseAnnouncement } from '../../shared/domain/announcement';
import {
  BLOCKING_IDS_CAP,
  type BlockingFacts,
  blockingFactsOf,
  escalationOf,
} from '../../shared/domain/blocking-facts';
import { escalationChangeOf, escalationIdOf } from '../../shared/domain/escalation-event';
import { evaluate } from '../../shared/domain/evaluate';
import type { Finding } from '../../shared/domain/findings';
import { changeOf } from '../../shared/domain/verdict-event';
import {
  draftFrom,
  planWrite,
  previousEvaluation,
  type VerdictRecord,
} from '../../shared/domain/verdict-record';
import { completeScan, finding, keyOf, policyOf } from '../support/builders';
import { itemsOfEscalationSample } from '../support/escalation-sample';

const image = keyOf('prod/api');
const policy = policyOf('defaults: { block: { severity: HIGH, exploited: true } }');
const at = (day: number) => new Date(Date.UTC(2026, 10, day, 2, 0, 0));

/** Evaluates and writes as the evaluate hop does; returns the CURRENT item the stream carries. */
function judge(previous: VerdictRecord | undefined, findings: Finding[], now: Date) {
  const scan = completeScan(findings, new Date(now.getTime() - 60_000).toISOString());
  const evaluation = evaluate({
    image,
    scan,
    previous: previousEvaluation(previous),
    policy,
    now,
  });
  const { findings: _f, ...summary } = scan;
  const facts = { key: image, tags: ['1.4.2'] } as Parameters<typeof draftFrom>[0];
  const plan = planWrite(previous, draftFrom(facts, summary, evaluation, undefined, previous));
  return {
    plan,
    record: plan.record,
    item: { ...plan.record, pk: `IMG#${image.digest}`, sk: 'CURRENT' as const },
  };
}

const high = finding('CVE-2024-0001', 'HIGH', { fixedIn: '1.2.4', package: { name: 'libfoo' } });
const critical = finding('CVE-2024-0002', 'CRITICAL', { package: { name: 'libbar' } });
const low = finding('CVE-2024-0003', 'LOW');

describe('VerdictEscalated: a not-admitted digest that gets worse', () => {
  const failing = judge(undefined, [high], at(20));

  it('a new blocking finding on a FAIL digest is an escalation, saying what is new', () => {
    const worse = judge(failing.record, [high, critical], at(21));
    expect(worse.plan.kind).toBe('update');
    expect(changeOf(failing.item, worse.item).event).toBeUndefined();
    const event = escalationChangeOf(failing.item, worse.item);
    expect(event).toMatchObject({
      kind: 'VerdictEscalated',
      verdict: 'FAIL',
      admitted: false,
      transitionId: failing.record.transitionId,
      escalation: {
        newBlocking: ['CVE-2024-0002'],
        newBlockingCount: 1,
        newlyExploited: [],
        maxSeverity: { from: 'HIGH', to: 'CRITICAL' },
      },
    });
    expect(event?.newFindings.map((f) => f.id)).toEqual(['CVE-2024-0002']);
    // Redelivered or replayed, the same record gives the same id (the markers' key).
    expect(escalationChangeOf(failing.item, worse.item)?.id).toBe(event?.id);
    expect(event?.id).toBe(escalationIdOf(worse.item));
  });

  it('order-only and non-blocking changes are written but announce nothing', () => {
    const two = judge(failing.record, [high, critical], at(21));
    const reordered = judge(two.record, [low, critical, high], at(22));
    // The write happened (a LOW was added): only the announcement is withheld.
    expect(reordered.plan.kind).toBe('update');
    expect(reordered.record.topFindings).not.toEqual(two.record.topFindings);
    expect(escalationChangeOf(two.item, reordered.item)).toBeUndefined();
    expect(changeOf(two.item, reordered.item).event).toBeUndefined();
  });

  it('a fixed finding is no escalation; it coming back is one again', () => {
    const two = judge(failing.record, [high, critical], at(21));
    const fixed = judge(two.record, [critical], at(22));
    expect(escalationChangeOf(two.item, fixed.item)).toBeUndefined();
    const back = judge(fixed.record, [critical, high], at(23));
    expect(escalationChangeOf(fixed.item, back.item)?.escalation.newBlocking).toEqual([
      'CVE-2024-0001',
    ]);
  });

  it('a blocking finding that becomes known exploited is an escalation', () => {
    const exploited = judge(failing.record, [{ ...high, exploitAvailable: true }], at(21));
    const event = escalationChangeOf(failing.item, exploited.item);
    expect(event?.escalation).toEqual({
      newBlocking: [],
      newBlockingCount: 0,
      newlyExploited: ['CVE-2024-0001'],
    });
    const message = escalationMessage(event ?? fail('expected an escalation'));
    expect(message.attributes).toMatchObject({ type: 'escalation', exploited: 'true' });
  });

  it('no escalation: a transition (that is VerdictChanged), an admitted digest, no stored facts before', () => {
    const passing = judge(undefined, [low], at(20));
    const toFail = judge(passing.record, [low, high], at(21));
    expect(toFail.plan.kind).toBe('transition');
    expect(escalationChangeOf(passing.item, toFail.item)).toBeUndefined();
    expect(changeOf(passing.item, toFail.item).event?.verdict).toBe('FAIL');

    const graced = policyOf('defaults: { grace: { HIGH: 7d, CRITICAL: 7d } }');
    const admitted = evaluate({ image, scan: completeScan([]), policy: graced, now: at(20) });
    const warn = evaluate({
      image,
      scan: completeScan([high]),
      policy: graced,
      previous: admitted,
      now: at(21),
    });
    const warnWorse = evaluate({
      image,
      scan: completeScan([high, critical]),
      policy: graced,
      previous: warn,
      now: at(22),
    });
    expect(warnWorse.verdict).toBe('WARN');
    const asItem = (e: typeof warn, version: number) => ({
      ...image,
      ...e,
      tags: [],
      scan: { state: 'complete', status: 'COMPLETE', scanner: 'ecr-basic' },
      pk: 'IMG#x',
      sk: 'CURRENT',
      version,
      transitionId: 't',
      admitted: 1,
    });
    expect(escalationChangeOf(asItem(warn, 2), asItem(warnWorse, 3))).toBeUndefined();

    // A record written before `blocking` existed: no basis to compare, so no flood.
    const worse = judge(failing.record, [high, critical], at(21));
    const { blocking: _b, ...legacy } = failing.item;
    expect(escalationChangeOf(legacy, worse.item)).toBeUndefined();
    // The same image twice (a duplicate record) is no escalation.
    expect(escalationChangeOf(worse.item, worse.item)).toBeUndefined();
  });

  it('a deleted digest announces its deletion, not an escalation', () => {
    const worse = judge(failing.record, [high, critical], at(21));
    expect(
      escalationChangeOf(failing.item, { ...worse.item, deletedAt: at(21).toISOString() }),
    ).toBeUndefined();
  });

  it('the SNS body parses back as VerdictEscalated for notify, and Slack says what is new', () => {
    const worse = judge(failing.record, [high, { ...critical, exploitAvailable: true }], at(21));
    const event = escalationChangeOf(failing.item, worse.item) ?? fail('expected an escalation');
    const message = escalationMessage(event);
    expect(message.subject).toBe(
      '[registry-watcher] WORSE FAIL (+1 blocking, 1 now exploited, HIGH -> CRITICAL): prod/api:1.4.2',
    );
    const parsed = parseAnnouncement(message.body);
    expect(parsed.kind).toBe('VerdictEscalated');
    if (parsed.kind !== 'VerdictEscalated') return;
    const slack = escalationSlackMessage(parsed.event);
    const text = JSON.stringify(slack.blocks);
    expect(text).toContain('1 new blocking finding*: `CVE-2024-0002`');
    expect(text).toContain('Now known exploited*: `CVE-2024-0002`');
    expect(text).toContain('HIGH → CRITICAL');
    expect(text).toContain(':fire: known exploited');
    expect(slack.text).toBe(
      'FAIL, worse: prod/api:1.4.2 (1 new blocking finding: CVE-2024-0002; Now known exploited: CVE-2024-0002; Highest blocking severity HIGH → CRITICAL)',
    );
  });

  it('Slack keeps Block Kit limits and escapes ids however many findings are new', () => {
    const many = Array.from({ length: 400 }, (_, i) =>
      finding(`CVE-2024-<@U${i}>&${'x'.repeat(40)}`, 'CRITICAL'),
    );
    const worse = judge(failing.record, [high, ...many], at(21));
    const event = escalationChangeOf(failing.item, worse.item) ?? fail('expected an escalation');
    expect(event.escalation.newBlockingCount).toBe(400);
    expect(event.escalation.newBlocking.length).toBeLessThanOrEqual(20);
    const slack = escalationSlackMessage(event);
    expect(slack.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    for (const b of slack.blocks) {
      if (b.type === 'section' && b.text) {
        expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.text);
      }
      if (b.type === 'header') expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.header);
    }
    expect(JSON.stringify(slack)).not.toContain('<@U');
    expect(Buffer.byteLength(escalationMessage(event).body)).toBeLessThan(256 * 1024);
  });
});

describe('events/sns/verdict-escalated.json (the documented v1 sample)', () => {
  it('is byte for byte what changes publishes for its two images, attributes included', () => {
    const { before, after } = itemsOfEscalationSample();
    const sns = loadFixture('sns/verdict-escalated').Records[0]?.Sns;
    const message = escalationMessage(
      escalationChangeOf(before, after) ?? fail('expected an escalation'),
    );
    expect(message.body).toBe(sns?.Message);
    expect(message.subject).toBe(sns?.Subject);
    expect(
      Object.fromEntries(
        Object.entries(sns?.MessageAttributes ?? {}).map(([k, v]) => [k, v.Value]),
      ),
    ).toEqual(message.attributes);
  });

  it('keeps every field a VerdictChanged consumer reads, beside kind and escalation', () => {
    const body = JSON.parse(loadFixture('sns/verdict-escalated').Records[0]?.Sns.Message ?? '{}');
    const changed = JSON.parse(loadFixture('sns/verdict-event').Records[0]?.Sns.Message ?? '{}');
    const missing = Object.keys(changed).filter(
      (k) => !(k in body) && !['kind', 'previousVerdict'].includes(k),
    );
    expect(missing).toEqual([]);
    expect(body).toMatchObject({ apiVersion: 'registry-watcher/v1', kind: 'VerdictEscalated' });
  });
});

describe('blocking facts: a bottom-k sketch of blocking ids', () => {
  const judged = (ids: string[], extra: Partial<{ exploited: boolean }> = {}) =>
    ids.map((id) => ({ id, severity: 'HIGH' as const, blocking: true, ...extra }));

  it('is independent of the order findings come in, and leaves non-blocking ones out', () => {
    const ids = Array.from({ length: 250 }, (_, i) => `CVE-2026-${1000 + i}`);
    const a = blockingFactsOf(judged(ids));
    const b = blockingFactsOf([
      ...judged([...ids].reverse()),
      { id: 'CVE-LOW', severity: 'LOW', blocking: false },
    ]);
    expect(b).toEqual(a);
    expect(a.count).toBe(250);
    expect(a.ids).toHaveLength(BLOCKING_IDS_CAP);
  });

  it('over the cap: a new id is named when the sketch can tell, counted when only the count can', () => {
    const ids = Array.from({ length: 150 }, (_, i) => `CVE-2026-${1000 + i}`);
    const before = blockingFactsOf(judged(ids));
    const candidates = Array.from({ length: 400 }, (_, i) => `CVE-2027-${1000 + i}`);
    const inside = candidates.find((c) => blockingFactsOf(judged([...ids, c])).ids.includes(c));
    const outside = candidates.find((c) => !blockingFactsOf(judged([...ids, c])).ids.includes(c));
    if (!inside || !outside) throw new Error('expected ids on both sides of the sketch');
    expect(escalationOf(before, blockingFactsOf(judged([...ids, inside])))).toEqual({
      newBlocking: [inside],
      newBlockingCount: 1,
      newlyExploited: [],
    });
    expect(escalationOf(before, blockingFactsOf(judged([...ids, outside])))).toEqual({
      newBlocking: [],
      newBlockingCount: 1,
      newlyExploited: [],
    });
  });

  it('never names as new an id that was blocking before, nor misses one within the cap', () => {
    const id = fc.integer({ min: 0, max: 400 }).map((n) => `CVE-2026-${n}`);
    fc.assert(
      fc.property(
        fc.uniqueArray(id, { maxLength: 300 }),
        fc.uniqueArray(id, { maxLength: 300 }),
        (a, b) => {
          const before: BlockingFacts = blockingFactsOf(judged(a));
          const after = blockingFactsOf(judged(b));
          const named = escalationOf(before, after)?.newBlocking ?? [];
          const truly = b.filter((x) => !a.includes(x));
          for (const x of named) expect(truly).toContain(x);
          if (a.length <= BLOCKING_IDS_CAP && b.length <= BLOCKING_IDS_CAP) {
            expect([...named].sort()).toEqual([...truly].sort());
          }
          if (truly.length === 0) expect(named).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
