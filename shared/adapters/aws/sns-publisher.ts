import { createHash } from 'node:crypto';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Announcement } from '../../domain/announcement';
import { UpstreamError } from '../../domain/errors';
import type { MessagePublisher } from '../../ports/publishing';
import { isRetryableAwsError, isThrottlingError, withRetry } from '../../retry';
import { sharedClient } from './clients';
import { snsMessageOf } from './sns-messages';

/** Publishes to the verdict-events topic with string message attributes for filter policies. */
export class SnsPublisher implements MessagePublisher {
  private readonly client: SNSClient;
  private readonly fifo: boolean;

  constructor(
    private readonly topicArn: string,
    client?: SNSClient,
  ) {
    this.client = client ?? sharedClient(SNSClient);
    this.fifo = topicArn.endsWith('.fifo');
  }

  async publish(announcement: Announcement): Promise<void> {
    const message = snsMessageOf(announcement);
    try {
      await withRetry(() =>
        this.client.send(
          new PublishCommand({
            TopicArn: this.topicArn,
            Subject: message.subject,
            Message: message.body,
            MessageAttributes: Object.fromEntries(
              Object.entries(message.attributes).map(([name, value]) => [
                name,
                { DataType: 'String', StringValue: value },
              ]),
            ),
            // A FIFO topic deduplicates by transition id itself (5-minute window).
            ...(this.fifo && {
              MessageGroupId: fifoId(message.groupId),
              MessageDeduplicationId: fifoId(message.id),
            }),
          }),
        ),
      );
    } catch (error) {
      if (!isRetryableAwsError(error)) throw error;
      throw new UpstreamError(
        isThrottlingError(error) ? 'UPSTREAM_THROTTLED' : 'UPSTREAM_FAILURE',
        `SNS Publish to ${this.topicArn} failed (${(error as Error).name}); the record will be retried`,
        { cause: error },
      );
    }
  }
}

/** FIFO group and deduplication ids are at most 128 characters. */
function fifoId(value: string): string {
  return value.length <= 128 ? value : createHash('sha256').update(value).digest('hex');
}
