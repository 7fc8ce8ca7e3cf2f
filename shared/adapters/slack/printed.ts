import type { Announcement } from '../../domain/announcement';
import type { AlertSink } from '../../ports/publishing';
import { slackMessageOf } from './message';
import { SLACK_CHANNEL } from './webhook';

/**
 * Slack without a webhook (`npm start`): each message printed as the lines a person would
 * read. Same channel as the webhook, so a message printed once is not posted on a later run.
 */
export function printedSlack(out: (text: string) => void): AlertSink {
  return {
    channel: SLACK_CHANNEL,
    async deliver(announcement: Announcement) {
      const lines = slackMessageOf(announcement).blocks.flatMap((block) => {
        if (block.type === 'header') return [`┌ ${block.text.text}`];
        if (block.type === 'section') {
          return [
            block.text?.text ?? '',
            ...(block.fields ?? []).map((f) => f.text.replace('\n', ': ')),
          ]
            .filter((t) => t !== '')
            .flatMap((t) => t.split('\n'));
        }
        if (block.type === 'context') return block.elements.map((e) => e.text);
        return [];
      });
      out(lines.map((l, i) => (i === 0 ? `    ${l}` : `    │ ${l}`)).join('\n'));
    },
  };
}
