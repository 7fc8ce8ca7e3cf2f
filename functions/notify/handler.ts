import { Logger } from '@aws-lambda-powertools/logger';
import * as z from 'zod';
import { DeliveryMarkers } from '../../shared/adapters/aws/delivery-markers';
import { SecretsManagerWebhookUrl } from '../../shared/adapters/aws/slack-secret';
import { SlackWebhook } from '../../shared/adapters/slack/webhook';
import { InvalidEventError } from '../../shared/domain/errors';
import { notifyEnvironment, readEnvironmentOf } from '../../shared/publishing-config';
import {
  type NotifyOptions,
  type NotifyResult,
  notifySlack,
} from '../../shared/services/notify-slack';

const snsEvent = z.object({
  Records: z
    .array(z.looseObject({ Sns: z.looseObject({ MessageId: z.string(), Message: z.string() }) }))
    .min(1),
});

export const logger = new Logger({ serviceName: 'registry-watcher', logRecordOrder: ['message'] });

/**
 * SNS invokes asynchronously with one record. Any error is thrown: Lambda retries twice,
 * then the event lands in the DLQ with the error message (the reason) as an attribute.
 */
export function createHandler(options: () => NotifyOptions) {
  let resolved: NotifyOptions | undefined;
  return async (event: unknown): Promise<NotifyResult[]> => {
    resolved ??= options();
    const parsed = snsEvent.safeParse(event);
    if (!parsed.success) throw new InvalidEventError('not an SNS event', { cause: parsed.error });
    const results: NotifyResult[] = [];
    for (const record of parsed.data.Records) {
      try {
        results.push(await notifySlack(record.Sns.Message, resolved));
      } catch (error) {
        logger.error('Slack notification failed', {
          messageId: record.Sns.MessageId,
          error: { name: (error as Error).name, message: (error as Error).message },
        });
        throw error;
      }
    }
    return results;
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
    log: logger,
  };
});
