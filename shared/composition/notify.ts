import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { type BatchMetrics, publishBatchFigures } from '../adapters/aws/batch-metrics';
import { DeliveryMarkers } from '../adapters/aws/delivery-markers';
import { SecretsManagerWebhookUrl } from '../adapters/aws/slack-secret';
import { SqsVisibilityDeferral } from '../adapters/aws/sqs-deferral';
import { type SlackEnvironment, slackEnvironment } from '../adapters/slack/environment';
import { printedSlack } from '../adapters/slack/printed';
import { SlackWebhook } from '../adapters/slack/webhook';
import { staticWebhookUrl } from '../adapters/slack/webhook-url';
import { InvalidEventError } from '../domain/errors';
import { readEnvironmentOf } from '../environment';
import type { Log } from '../ports';
import type { AlertSink, IdempotencyStore, MessageDeferral } from '../ports/publishing';
import { notifyEnvironment } from '../publishing-config';
import { type NotifyOptions, notifyChannel } from '../services/notify';

/**
 * The notify hop's composition root: the Lambda (functions/notify) and `npm start`
 * (cli/local) deliver verdict events to an alert channel (Slack today) through this
 * handler and these ports. The handler knows no channel: a channel is an `AlertSink`.
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

/**
 * SNS → SQS → notify. A failed message is handed back (batch item failure) and comes back
 * after the queue's visibility timeout, into the DLQ after maxReceiveCount receives. When
 * the channel asks to be left alone for longer than its in-process budget (Slack's 429
 * Retry-After), the message and the rest of the batch, which would be throttled too, are
 * deferred by exactly that long instead.
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
        logger.warn('channel throttled: message deferred', {
          messageId: record.messageId,
          channel: opts.sink.channel,
          seconds,
        });
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
        await notifyChannel(record.body, opts);
      } catch (error) {
        logger.error('notification failed', {
          messageId: record.messageId,
          channel: opts.sink.channel,
          error: { name: (error as Error).name, message: (error as Error).message },
        });
        throttledMs = opts.sink.retryAfterMs?.(error);
        if (throttledMs !== undefined) await defer(record, throttledMs);
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    // Handed-back items never reach the Errors alarm: counted for their own.
    publishBatchFigures(sink, { failures: failures.length });
    return { batchItemFailures: failures };
  };
}

/** Where a channel's delivery markers live (in the verdict table, keyed by channel name). */
export interface AlertMarkerSettings {
  tableName: string;
  markerLeaseMs?: number;
  /** dynalite or a test table; the shared client otherwise. */
  documents?: DynamoDBDocumentClient;
}

/** The delivery markers of one channel: the channel name comes from the sink. */
export function alertDeliveryMarkers(
  sink: Pick<AlertSink, 'channel'>,
  settings: AlertMarkerSettings,
): IdempotencyStore {
  return new DeliveryMarkers({
    tableName: settings.tableName,
    channel: sink.channel,
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

/** Slack without a webhook (`npm start`): messages printed, delivery markers as Slack's. */
export function printedSlackSink(out: (text: string) => void): AlertSink {
  return printedSlack(out);
}

/** Slack from its own environment: the webhook URL in Secrets Manager. */
function slackFromEnvironment(settings: SlackEnvironment, log: Log): AlertSink {
  return new SlackWebhook({
    urls: new SecretsManagerWebhookUrl(settings.SLACK_WEBHOOK_SECRET_ARN, {
      cacheMs: settings.SLACK_SECRET_CACHE,
    }),
    minIntervalMs: settings.SLACK_MIN_INTERVAL,
    log,
  });
}

/**
 * The function environment → the channel (from the channel's own variables: Slack's today),
 * its markers, SQS deferral.
 */
export function notifyOptionsFromEnvironment(
  env: NodeJS.ProcessEnv,
  log: Log,
): NotifyHandlerOptions {
  const settings = readEnvironmentOf(notifyEnvironment, env);
  const sink = slackFromEnvironment(readEnvironmentOf(slackEnvironment, env), log);
  return {
    sink,
    markers: alertDeliveryMarkers(sink, {
      tableName: settings.TABLE_NAME,
      markerLeaseMs: settings.MARKER_LEASE,
    }),
    deferral: new SqsVisibilityDeferral(settings.NOTIFY_QUEUE_URL),
    log,
  };
}
