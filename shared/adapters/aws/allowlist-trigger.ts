import { createHash } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { RebuildTrigger } from '../../ports/publishing';
import { withRetry } from '../../retry';
import { sharedClient } from './clients';

export const REBUILD_GROUP_ID = 'allowlist';

/** Body of a rebuild request: the build must not read the index before `notBefore`. */
export interface RebuildRequest {
  reason: string;
  requestedAt: string;
  /** End of the debounce window this request stands for. */
  notBefore: string;
  /** Keys (pk) of the records that moved the admitted set: the build reads them by key. */
  dirty?: string[];
}

/** Start of the debounce window `now` falls in, and the deduplication id naming it. */
export function debounceWindow(now: Date, windowMs: number): { id: string; end: Date } {
  const bucket = Math.floor(now.getTime() / windowMs);
  return { id: `rebuild-${bucket}`, end: new Date((bucket + 1) * windowMs) };
}

/**
 * Debounces rebuilds through the SQS FIFO queue `allowlist-rebuild`: one message group,
 * deduplication id = the time window. SQS drops every further message with the same id
 * for 5 minutes, so each window sends one message however many stream batches it saw; the
 * `allowlist` function keeps publications REBUILD_MIN_INTERVAL apart.
 * The queue's delivery delay (= the window) holds each message until its window closed,
 * so the rebuild reads every change the window collapsed (docs/allowlist.md).
 */
export class SqsRebuildTrigger implements RebuildTrigger {
  private readonly client: SQSClient;

  constructor(
    private readonly queueUrl: string,
    private readonly windowMs = 1_000,
    client?: SQSClient,
  ) {
    this.client = client ?? sharedClient(SQSClient);
  }

  async requestRebuild(now: Date, reason: string, dirty: readonly string[] = []): Promise<void> {
    const window = debounceWindow(now, this.windowMs);
    const keys = [...new Set(dirty)].sort();
    const body: RebuildRequest = {
      reason,
      requestedAt: now.toISOString(),
      notBefore: window.end.toISOString(),
      ...(keys.length > 0 && { dirty: keys }),
    };
    // Requests naming keys are deduplicated per window and key set (a retried batch sends
    // the same), not per window alone: SQS would drop the later batches' keys.
    const id =
      keys.length > 0
        ? `${window.id}-${createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 32)}`
        : window.id;
    await withRetry(() =>
      this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: JSON.stringify(body),
          MessageGroupId: REBUILD_GROUP_ID,
          MessageDeduplicationId: id,
        }),
      ),
    );
  }
}
