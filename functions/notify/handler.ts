import { Logger } from '@aws-lambda-powertools/logger';
import * as z from 'zod';
import {
  type BatchMetrics,
  publishBatchFigures,
  watcherMetrics,
} from '../../shared/adapters/aws/batch-metrics';
import { DeliveryMarkers } from '../../shared/adapters/aws/delivery-markers';
import { SecretsManagerWebhookUrl } from '../../shared/adapters/aws/slack-secret';
import { SqsVisibilityDeferral } from '../../shared/adapters/aws/sqs-deferral';
import { SlackDeliveryError, SlackWebhook } from '../../shared/adapters/slack/webhook';
import { InvalidEventError } from '../../shared/domain/errors';
import type { MessageDeferral } from '../../shared/ports/publishing';
import { notifyEnvironment, readEnvironmentOf } from '../../shared/publishing-config';
import { type NotifyOptions, notifySlack } from '../../shared/services/notify-slack';

// The queue subscription delivers raw: each body is the SNS message itself.
const sqsEvent = z.object({
  Records: z
    .array(z.looseObject({ messageId: z.string(), receiptHandle: z.string(), body: z.string() }))
    .min(1),
});

export interface NotifyHandlerOptions extends NotifyOptions {
  deferral: MessageDeferral;
}

export interface NotifyBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

export const logger = new Logger({ serviceName: 'registry-watcher', logRecordOrder: ['message'] });
const metrics = watcherMetrics('notify');

/** How long Slack asked us to wait, when it did (a 429 that outlasted the in-process budget). */
function retryAfterOf(error: unknown): number | undefined {
  return error instanceof SlackDeliveryError && error.status === 429
    ? error.retryAfterMs
    : undefined;
}

/**
 * SNS → SQS → notify. A failed message is handed back (batch item failure) and comes back
 * after the queue's visibility timeout, into the DLQ after maxReceiveCount receives. A 429
 * whose Retry-After exceeds the in-process budget defers the message (and the rest of the
 * batch, which would be throttled too) by exactly that long instead.
 */
export function createHandler(options: () => NotifyHandlerOptions, sink: BatchMetrics = metrics) {
  let resolved: NotifyHandlerOptions | undefined;
  return async (event: unknown): Promise<NotifyBatchResponse> => {
    resolved ??= options();
    const opts = resolved;
    const parsed = sqsEvent.safeParse(event);
    if (!parsed.success) throw new InvalidEventError('not an SQS event', { cause: parsed.error });
    const failures: { itemIdentifier: string }[] = [];
    let throttledMs: number | undefined;
    const defer = async (record: { messageId: string; receiptHandle: string }, ms: number) => {
      try {
        const seconds = await opts.deferral.defer(record.receiptHandle, ms);
        logger.warn('Slack throttled: message deferred', { messageId: record.messageId, seconds });
      } catch (error) {
        // It still comes back, after the queue's own visibility timeout.
        logger.error('could not defer message', {
          messageId: record.messageId,
          error: { name: (error as Error).name, message: (error as Error).message },
        });
      }
    };
    for (const record of parsed.data.Records) {
      if (throttledMs !== undefined) {
        await defer(record, throttledMs);
        failures.push({ itemIdentifier: record.messageId });
        continue;
      }
      try {
        await notifySlack(record.body, opts);
      } catch (error) {
        logger.error('Slack notification failed', {
          messageId: record.messageId,
          error: { name: (error as Error).name, message: (error as Error).message },
        });
        throttledMs = retryAfterOf(error);
        if (throttledMs !== undefined) await defer(record, throttledMs);
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    // Handed-back items never reach the Errors alarm: counted for their own.
    publishBatchFigures(sink, { failures: failures.length });
    return { batchItemFailures: failures };
  };
}

export const handler = createHandler(() => {
  const env = readEnvironmentOf(notifyEnvironment);
  return {
    sink: new SlackWebhook({
      urls: new SecretsManagerWebhookUrl(env.SLACK_WEBHOOK_SECRET_ARN, {
        cacheMs: env.SLACK_SECRET_CACHE,
      }),
      minIntervalMs: env.SLACK_MIN_INTERVAL,
      log: logger,
    }),
    markers: new DeliveryMarkers({
      tableName: env.TABLE_NAME,
      channel: 'SLACK',
      leaseMs: env.MARKER_LEASE,
    }),
    deferral: new SqsVisibilityDeferral(env.NOTIFY_QUEUE_URL),
    log: logger,
  };
});
