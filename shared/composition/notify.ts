import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { type BatchMetrics, publishBatchFigures } from '../adapters/aws/batch-metrics';
import { DeliveryMarkers } from '../adapters/aws/delivery-markers';
import { SecretsManagerWebhookUrl } from '../adapters/aws/slack-secret';
import { SqsVisibilityDeferral } from '../adapters/aws/sqs-deferral';
import { SlackDeliveryError, SlackWebhook } from '../adapters/slack/webhook';
import { staticWebhookUrl } from '../adapters/slack/webhook-url';
import { InvalidEventError } from '../domain/errors';
import type { Log } from '../ports';
import type { AlertSink, IdempotencyStore, MessageDeferral } from '../ports/publishing';
import { notifyEnvironment, readEnvironmentOf } from '../publishing-config';
import { type NotifyOptions, notifySlack } from '../services/notify-slack';

/**
 * The notify hop's composition root: the Lambda (functions/notify) and `npm start`
 * (cli/local) deliver verdict events to Slack through this handler and these ports.
 */

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
export function createNotifyHandler(
  options: () => NotifyHandlerOptions,
  sink: BatchMetrics,
  logger: Log,
) {
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

/** Where the Slack delivery markers live (channel SLACK, in the verdict table). */
export interface SlackMarkerSettings {
  tableName: string;
  markerLeaseMs?: number;
  /** dynalite or a test table; the shared client otherwise. */
  documents?: DynamoDBDocumentClient;
}

export function slackDeliveryMarkers(settings: SlackMarkerSettings): IdempotencyStore {
  return new DeliveryMarkers({
    tableName: settings.tableName,
    channel: 'SLACK',
    ...(settings.markerLeaseMs !== undefined && { leaseMs: settings.markerLeaseMs }),
    ...(settings.documents && { client: settings.documents }),
  });
}

/** A Slack webhook whose URL is given as is (`npm start`'s SLACK_WEBHOOK_URL). */
export function slackWebhookAt(url: string, minIntervalMs?: number, log?: Log): AlertSink {
  return new SlackWebhook({
    urls: staticWebhookUrl(url),
    ...(minIntervalMs !== undefined && { minIntervalMs }),
    ...(log && { log }),
  });
}

/** The function environment → Slack (URL from Secrets Manager), markers, SQS deferral. */
export function notifyOptionsFromEnvironment(
  env: NodeJS.ProcessEnv,
  log: Log,
): NotifyHandlerOptions {
  const settings = readEnvironmentOf(notifyEnvironment, env);
  return {
    sink: new SlackWebhook({
      urls: new SecretsManagerWebhookUrl(settings.SLACK_WEBHOOK_SECRET_ARN, {
        cacheMs: settings.SLACK_SECRET_CACHE,
      }),
      minIntervalMs: settings.SLACK_MIN_INTERVAL,
      log,
    }),
    markers: slackDeliveryMarkers({
      tableName: settings.TABLE_NAME,
      markerLeaseMs: settings.MARKER_LEASE,
    }),
    deferral: new SqsVisibilityDeferral(settings.NOTIFY_QUEUE_URL),
    log,
  };
}
