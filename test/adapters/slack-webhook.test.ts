import {
  retryAfterMs,
  SlackDeliveryError,
  SlackWebhook,
} from '../../shared/adapters/slack/webhook';
import { staticWebhookUrl } from '../../shared/adapters/slack/webhook-url';

const message = { text: 'PASS → FAIL', blocks: [] };

/** A fake clock whose sleep advances time, and a fetch answering from a script. */
function harness(answers: (() => Response)[]) {
  let now = 1_000_000;
  const sleeps: number[] = [];
  const posts: number[] = [];
  let invalidated = 0;
  const urls = staticWebhookUrl('https://hooks.slack.com/services/T0/B0/SECRET');
  const webhook = new SlackWebhook({
    urls: {
      url: urls.url,
      invalidate: () => {
        invalidated += 1;
      },
    },
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    fetch: async () => {
      posts.push(now);
      const next = answers.shift();
      if (!next) throw new Error('no more answers');
      return next();
    },
  });
  /** Time between post i-1 and post i. */
  const gap = (i: number) => (posts[i] ?? Number.NaN) - (posts[i - 1] ?? Number.NaN);
  return { webhook, sleeps, posts, gap, invalidated: () => invalidated };
}

describe('SlackWebhook', () => {
  it('paces messages to one per second per webhook', async () => {
    const ok = () => new Response('ok');
    const { webhook, gap } = harness([ok, ok, ok]);
    await webhook.post(message);
    await webhook.post(message);
    await webhook.post(message);
    expect(gap(1)).toBeGreaterThanOrEqual(1_000);
    expect(gap(2)).toBeGreaterThanOrEqual(1_000);
  });

  it('waits Retry-After on 429, backs off on 5xx, and stops at the first success', async () => {
    const { webhook, sleeps, posts, gap } = harness([
      () => new Response('rate_limited', { status: 429, headers: { 'retry-after': '3' } }),
      () => new Response('rollup_error', { status: 500 }),
      () => new Response('ok'),
    ]);
    await webhook.post(message);
    expect(posts).toHaveLength(3);
    expect(sleeps[0]).toBe(3_000);
    expect(gap(1)).toBeGreaterThanOrEqual(3_000);
    expect(gap(2)).toBeLessThanOrEqual(20_000 + 1_000);
  });

  it.each([
    [400, 'invalid_payload'],
    [403, 'action_prohibited'],
    [404, 'channel_not_found'],
    [410, 'channel_is_archived'],
  ])('fails at once on HTTP %i %s, naming it, and forgets the cached URL', async (status, word) => {
    const { webhook, posts, invalidated } = harness([() => new Response(word, { status })]);
    const error = await webhook.post(message).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlackDeliveryError);
    expect(error).toMatchObject({ status, slackError: word, permanent: true });
    expect((error as Error).message).toContain(`HTTP ${status} ${word}`);
    expect((error as Error).message).not.toContain('SECRET');
    expect(posts).toHaveLength(1);
    expect(invalidated()).toBe(1);
  });

  it('gives up after a bounded number of attempts on a Slack outage', async () => {
    const down = () => new Response('', { status: 503 });
    const { webhook, posts, sleeps } = harness(Array.from({ length: 10 }, () => down));
    const error = await webhook.post(message).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, permanent: false });
    expect(posts).toHaveLength(6);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(20_000);
  });

  it('leaves a Retry-After longer than 30 s to the Lambda retry', async () => {
    const { webhook, posts } = harness([
      () => new Response('', { status: 429, headers: { 'retry-after': '600' } }),
    ]);
    const error = await webhook.post(message).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, retryAfterMs: 600_000, code: 'UPSTREAM_THROTTLED' });
    expect(posts).toHaveLength(1);
  });

  it('turns network errors into retries without quoting the URL', async () => {
    const { webhook, posts } = harness([
      () => {
        throw new TypeError('fetch failed for https://hooks.slack.com/services/T0/B0/SECRET');
      },
      () => new Response('ok'),
    ]);
    await webhook.post(message);
    expect(posts).toHaveLength(2);
  });
});

describe('retryAfterMs', () => {
  const at = (value?: string) =>
    retryAfterMs(
      new Response('', {
        status: 429,
        headers: value === undefined ? {} : { 'retry-after': value },
      }),
      Date.parse('2026-11-23T02:00:00Z'),
    );
  it.each([
    [undefined, 1_000],
    ['0', 0],
    ['2', 2_000],
    ['1.5', 1_500],
    ['Mon, 23 Nov 2026 02:00:05 GMT', 5_000],
    ['soon', 1_000],
  ])('Retry-After %j waits %i ms', (value, expected) => {
    expect(at(value)).toBe(expected);
  });
});
