import type { Announcement } from '../../domain/announcement';
import type { DailyDigest } from '../../domain/daily-digest';
import type { EscalationEvent } from '../../domain/escalation-event';
import { SEVERITIES } from '../../domain/severity';
import { VERDICTS, type VerdictValue } from '../../domain/verdict';
import { shortImageName, type VerdictEvent } from '../../domain/verdict-event';

/** The subset of Slack Block Kit the watcher sends (https://api.slack.com/block-kit). */
export type TextObject =
  | { type: 'plain_text'; text: string; emoji?: boolean }
  | { type: 'mrkdwn'; text: string };
export type Block =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji?: boolean } }
  | { type: 'section'; text?: TextObject; fields?: TextObject[] }
  | { type: 'context'; elements: TextObject[] }
  | { type: 'divider' };

/** An incoming-webhook payload: `text` is the notification fallback, `blocks` the layout. */
export interface SlackMessage {
  text: string;
  blocks: Block[];
}

/** Block Kit limits: header 150, section text 3000, field 2000, 10 fields, 50 blocks. */
export const SLACK_LIMITS = { header: 150, text: 3000, field: 2000, fields: 10, blocks: 50 };

const EMOJI: Record<VerdictValue, string> = {
  PASS: ':white_check_mark:',
  WARN: ':warning:',
  FAIL: ':no_entry:',
  PENDING: ':hourglass_flowing_sand:',
  ERROR: ':exclamation:',
};

/** Slack mrkdwn needs only &, < and > escaped. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function link(url: string | undefined, text: string): string {
  if (!url || !/^https?:\/\/[^\s|<>]+$/.test(url)) return escapeMrkdwn(text);
  return `<${url}|${escapeMrkdwn(text)}>`;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Lines joined under a title, cut at whole lines to stay within a section's limit. */
function listSection(title: string, lines: string[], more = 0): Block {
  const out: string[] = [title];
  let length = title.length;
  let dropped = more;
  for (const [i, line] of lines.entries()) {
    if (length + line.length + 40 > SLACK_LIMITS.text) {
      dropped += lines.length - i;
      break;
    }
    out.push(line);
    length += line.length + 1;
  }
  if (dropped > 0) out.push(`_… and ${dropped} more_`);
  return { type: 'section', text: { type: 'mrkdwn', text: out.join('\n') } };
}

const mrkdwn = (text: string): TextObject => ({
  type: 'mrkdwn',
  text: cut(text, SLACK_LIMITS.field),
});

function severitySummary(counts: VerdictEvent['severityCounts']): string {
  const parts = [...SEVERITIES]
    .reverse()
    .filter((s) => (counts[s] ?? 0) > 0)
    .map((s) => `${s} ${counts[s]}`);
  return parts.length > 0 ? parts.join(' · ') : 'no findings';
}

const day = (iso: string) => iso.slice(0, 16).replace('T', ' ');

/** One finding: severity, linked id, package, fix, CVSS, EPSS, blocking, exploit. */
function findingLine(f: VerdictEvent['topFindings'][number]): string {
  const pkg = f.package
    ? ` \`${escapeMrkdwn(f.package.name)}\`${f.package.version ? ` ${escapeMrkdwn(f.package.version)}` : ''}`
    : '';
  const fix = f.fixedIn
    ? ` → fixed in ${escapeMrkdwn(f.fixedIn)}`
    : f.fixAvailable === false
      ? ' (no fix yet)'
      : '';
  const cvss = f.cvss ? ` CVSS ${f.cvss.score}` : '';
  const epss = f.epss !== undefined ? ` EPSS ${f.epss}` : '';
  const exploit = f.exploited
    ? ' :fire: known exploited'
    : f.exploitAvailable
      ? ' :fire: exploit known'
      : '';
  return `• *${f.severity}* ${link(f.link, f.id)}${pkg}${fix}${cvss}${epss}${f.blocking ? ' *blocking*' : ''}${exploit}`;
}

function idList(ids: readonly string[]): string {
  return ids.map((id) => `\`${escapeMrkdwn(id)}\``).join(', ');
}

/** A not-admitted digest got worse: what is new leads, then the verdict as it stands. */
export function escalationSlackMessage(event: EscalationEvent): SlackMessage {
  const name = shortImageName(event.image);
  const { newBlocking, newBlockingCount, newlyExploited, maxSeverity } = event.escalation;
  const news: string[] = [];
  if (newBlockingCount > 0) {
    const unnamed = newBlockingCount - newBlocking.length;
    news.push(
      `• *${newBlockingCount} new blocking finding${newBlockingCount === 1 ? '' : 's'}*${newBlocking.length > 0 ? `: ${idList(newBlocking)}` : ''}${unnamed > 0 && newBlocking.length > 0 ? ` and ${unnamed} more` : ''}`,
    );
  }
  if (newlyExploited.length > 0) {
    news.push(`• :fire: *Now known exploited*: ${idList(newlyExploited)}`);
  }
  if (maxSeverity) {
    news.push(`• Highest blocking severity *${maxSeverity.from} → ${maxSeverity.to}*`);
  }
  const blocks: Block[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: cut(
          `:chart_with_upwards_trend: ${event.verdict}, worse  ${name}`,
          SLACK_LIMITS.header,
        ),
        emoji: true,
      },
    },
    listSection('*What is new*', news),
  ];
  const shown = event.newFindings.map(findingLine);
  if (shown.length > 0) blocks.push(listSection('*New findings*', shown));
  blocks.push({
    type: 'section',
    fields: [
      mrkdwn(
        `*Image*\n${link(event.image.consoleUrl, `${event.image.repository}@${event.image.digest.slice(0, 19)}…`)}`,
      ),
      mrkdwn(`*Verdict*\n${event.verdict} (not admitted), unchanged`),
      mrkdwn(`*Findings*\n${severitySummary(event.severityCounts)}`),
    ],
  });
  const reasons = event.reasons
    .filter((r) => r.effect !== 'info')
    .map((r) => `• \`${r.code}\` ${escapeMrkdwn(r.message)}`);
  if (reasons.length > 0) blocks.push(listSection('*Reasons*', reasons));
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(
        `${escapeMrkdwn(event.image.registry)} · escalation \`${event.id}\` · evaluated ${day(event.evaluatedAt)} UTC`,
      ),
    ],
  });
  const summary = news.map((line) => line.replace(/^• /, '').replace(/[*`]|:fire: /g, ''));
  return { text: `${event.verdict}, worse: ${name} (${summary.join('; ')})`, blocks };
}

/** One message per transition: what changed, why, what to fix and by when. */
export function verdictSlackMessage(event: VerdictEvent): SlackMessage {
  const name = shortImageName(event.image);
  // A deleted digest keeps its last verdict; what changed is that it left the registry.
  const change = event.deletedAt
    ? `${event.verdict} → deleted`
    : event.previousVerdict
      ? `${event.previousVerdict} → ${event.verdict}`
      : `new → ${event.verdict}`;
  const emoji = event.deletedAt ? ':wastebasket:' : EMOJI[event.verdict];
  const tags = event.image.tags.length
    ? event.image.tags.map((t) => `\`${escapeMrkdwn(t)}\``).join(', ')
    : '_untagged_';
  const blocks: Block[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: cut(`${emoji} ${change}  ${name}`, SLACK_LIMITS.header),
        emoji: true,
      },
    },
    {
      type: 'section',
      fields: [
        mrkdwn(
          `*Image*\n${link(event.image.consoleUrl, `${event.image.repository}@${event.image.digest.slice(0, 19)}…`)}`,
        ),
        mrkdwn(`*Tags*\n${tags}`),
        mrkdwn(
          `*Verdict*\n${event.verdict}${event.deletedAt ? ` (image deleted ${day(event.deletedAt)} UTC: not admitted)` : event.admitted ? ' (admitted)' : ' (not admitted)'}${event.previousVerdict && !event.deletedAt ? `, was ${event.previousVerdict}` : ''}`,
        ),
        mrkdwn(`*Findings*\n${severitySummary(event.severityCounts)}`),
      ],
    },
  ];
  const reasons = [...event.reasons]
    .sort((a, b) => Number(a.effect === 'info') - Number(b.effect === 'info'))
    .map((r) => `• \`${r.code}\` ${escapeMrkdwn(r.message)}`);
  if (reasons.length > 0) blocks.push(listSection('*Reasons*', reasons));
  const findings = event.topFindings.map(findingLine);
  if (findings.length > 0) blocks.push(listSection('*Top findings*', findings));
  const dates: string[] = [];
  if (event.deadline) dates.push(`• Remediation deadline: *${day(event.deadline)} UTC*`);
  if (event.expiresAt) dates.push(`• Admission ends without a fix: ${day(event.expiresAt)} UTC`);
  for (const e of event.expiringExceptions) {
    dates.push(
      `• Exception \`${escapeMrkdwn(e.id)}\` (${escapeMrkdwn(e.owner)}) ends ${day(e.expiresAt)} UTC`,
    );
  }
  if (dates.length > 0) blocks.push(listSection('*Deadlines*', dates));
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(
        `${escapeMrkdwn(event.image.registry)} · transition \`${event.id}\` · evaluated ${day(event.evaluatedAt)} UTC${event.truncated ? ' · list shortened' : ''}`,
      ),
    ],
  });
  return {
    text: `${change}: ${name} (${severitySummary(event.severityCounts)})`,
    blocks,
  };
}

/** The daily summary after the nightly rescan. */
export function digestSlackMessage(digest: DailyDigest): SlackMessage {
  const date = digest.time.slice(0, 10);
  const blocks: Block[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: `:bar_chart: registry-watcher daily digest ${date}`,
        emoji: true,
      },
    },
    {
      type: 'section',
      fields: [
        ...VERDICTS.map((v) => mrkdwn(`*${v}*\n${digest.counts[v]}`)),
        mrkdwn(`*Digests*\n${digest.total}`),
      ],
    },
  ];
  const fails = digest.newFails.map(
    (f) =>
      `• ${escapeMrkdwn(shortImageName(f))} (was ${f.previousVerdict ?? 'new'}, ${f.maxSeverity})${f.reason ? `: ${escapeMrkdwn(cut(f.reason, 200))}` : ''}`,
  );
  blocks.push(
    fails.length > 0
      ? listSection(
          `*New FAILs in the last 24 h: ${digest.newFailCount}*`,
          fails,
          digest.newFailCount - fails.length,
        )
      : { type: 'section', text: { type: 'mrkdwn', text: '*No new FAILs in the last 24 h*' } },
  );
  const expiring = digest.expiringExceptions.map(
    (e) =>
      `• \`${escapeMrkdwn(e.id)}\` (${escapeMrkdwn(e.owner)}) ends ${day(e.expiresAt)} UTC, relied on by ${e.images} digest(s)`,
  );
  if (expiring.length > 0) {
    blocks.push(listSection('*Exceptions expiring within 7 days*', expiring));
  }
  if (digest.run && Object.keys(digest.run).length > 0) {
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(
          Object.entries(digest.run)
            .map(([k, v]) => `${escapeMrkdwn(k)}: ${v}`)
            .join(' · '),
        ),
      ],
    });
  }
  return {
    text: `registry-watcher daily digest ${date}: ${digest.newFailCount} new FAIL, ${digest.counts.FAIL} FAIL of ${digest.total}, ${digest.expiringExceptions.length} exception(s) expiring`,
    blocks,
  };
}

/** The Slack rendering of any announcement. */
export function slackMessageOf(announcement: Announcement): SlackMessage {
  switch (announcement.kind) {
    case 'DailyDigest':
      return digestSlackMessage(announcement.digest);
    case 'VerdictEscalated':
      return escalationSlackMessage(announcement.event);
    case 'VerdictChanged':
      return verdictSlackMessage(announcement.event);
  }
}
