import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { MessageDeferral } from '../../ports/publishing';
import { withRetry } from '../../retry';
import { sharedClient } from './clients';

/** SQS caps a message's visibility timeout at 12 hours. */
export const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;

/**
 * Defers a received SQS message by setting its visibility timeout: it comes back that many
 * seconds from now, however long the queue's own timeout is (docs/alerts.md, Delivery).
 */
export class SqsVisibilityDeferral implements MessageDeferral {
  constructor(
    private readonly queueUrl: string,
    private readonly client: SQSClient = sharedClient(SQSClient),
  ) {}

  async defer(receiptHandle: string, delayMs: number): Promise<number> {
    const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, Math.ceil(delayMs / 1000)));
    await withRetry(() =>
      this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
      ),
    );
    return seconds;
  }
}
