import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { RescanContinuation } from '../../ports/rescan';
import { type RetryOptions, withRetry } from '../../retry';
import { sharedClient } from './clients';

export interface SqsRescanContinuationOptions {
  queueUrl: string;
  client?: SQSClient;
  retry?: RetryOptions;
}

/** The message that wakes the planner again: it names the run; the checkpoint holds the cursor. */
export interface ContinuationMessage {
  action: 'continue';
  runId: string;
}

/** Continues a run in a fresh invocation through the planner's own SQS queue. */
export class SqsRescanContinuation implements RescanContinuation {
  private readonly client: SQSClient;

  constructor(private readonly options: SqsRescanContinuationOptions) {
    this.client = options.client ?? sharedClient(SQSClient);
  }

  async request(runId: string): Promise<void> {
    const body: ContinuationMessage = { action: 'continue', runId };
    await withRetry(
      () =>
        this.client.send(
          new SendMessageCommand({
            QueueUrl: this.options.queueUrl,
            MessageBody: JSON.stringify(body),
          }),
        ),
      this.options.retry,
    );
  }
}
