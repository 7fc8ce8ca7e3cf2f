import {
  type BatchResultErrorEntry,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { RegistryWatcherError, UpstreamError } from '../../domain/errors';
import { type Clock, systemClock } from '../../ports';
import type { EvaluateQueue, PlannedRequest } from '../../ports/rescan';
import { isRetryableAwsError, isThrottlingError, type RetryOptions, withRetry } from '../../retry';
import { sharedClient } from './clients';
import { evaluateRequestEvent } from './evaluate-events';

export interface SqsEvaluateQueueOptions {
  queueUrl: string;
  client?: SQSClient;
  clock?: Clock;
  retry?: RetryOptions;
  /** SendMessageBatch calls in flight at once. */
  concurrency?: number;
}

/** SQS takes at most 10 messages per SendMessageBatch and delays of at most 900 s. */
const BATCH = 10;
const MAX_DELAY_SECONDS = 900;

class PartialBatchFailure extends RegistryWatcherError {
  constructor(
    readonly failed: BatchResultErrorEntry[],
    readonly retryable: boolean,
  ) {
    const first = failed[0];
    super(
      'UPSTREAM_FAILURE',
      `SQS refused ${failed.length} message(s) of a batch, e.g. ${first?.Code}: ${first?.Message ?? ''}; the evaluate queue sends them again with backoff`,
    );
  }
}

/**
 * The evaluate queue: one message per image, the same EventBridge-shaped evaluate request
 * the CLI sends, in batches of 10. Entries SQS refuses are sent again with backoff.
 */
export class SqsEvaluateQueue implements EvaluateQueue {
  private readonly client: SQSClient;
  private readonly clock: Clock;

  constructor(private readonly options: SqsEvaluateQueueOptions) {
    this.client = options.client ?? sharedClient(SQSClient);
    this.clock = options.clock ?? systemClock;
  }

  async send(requests: PlannedRequest[]): Promise<void> {
    const batches: SendMessageBatchRequestEntry[][] = [];
    for (let i = 0; i < requests.length; i += BATCH) {
      batches.push(requests.slice(i, i + BATCH).map((r, j) => this.entry(r, j)));
    }
    let next = 0;
    const worker = async () => {
      for (let batch = batches[next++]; batch; batch = batches[next++]) await this.sendBatch(batch);
    };
    const workers = Math.min(this.options.concurrency ?? 2, batches.length);
    await Promise.all(Array.from({ length: workers }, worker));
  }

  private entry(request: PlannedRequest, index: number): SendMessageBatchRequestEntry {
    const body = evaluateRequestEvent(request.key, request.trigger, this.clock(), request.seen);
    const delay = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.round(request.delaySeconds ?? 0)));
    return {
      Id: String(index),
      MessageBody: JSON.stringify(body),
      ...(delay > 0 && { DelaySeconds: delay }),
    };
  }

  private async sendBatch(entries: SendMessageBatchRequestEntry[]): Promise<void> {
    let pending = entries;
    try {
      await withRetry(
        async () => {
          const out = await this.client.send(
            new SendMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: pending }),
          );
          const failed = out.Failed ?? [];
          if (failed.length === 0) return;
          const refused = new Set(failed.map((f) => f.Id));
          pending = pending.filter((e) => refused.has(e.Id));
          throw new PartialBatchFailure(
            failed,
            failed.every((f) => !f.SenderFault),
          );
        },
        {
          ...this.options.retry,
          retryable: (error) =>
            error instanceof PartialBatchFailure ? error.retryable : isRetryableAwsError(error),
        },
      );
    } catch (error) {
      const throttled = isThrottlingError(error);
      throw new UpstreamError(
        throttled ? 'UPSTREAM_THROTTLED' : 'UPSTREAM_FAILURE',
        `SendMessageBatch to ${this.options.queueUrl} failed for ${pending.length} evaluate request(s): ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
}
