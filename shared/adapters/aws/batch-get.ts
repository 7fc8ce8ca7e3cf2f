import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { UpstreamError } from '../../domain/errors';
import { type RetryOptions, withRetry } from '../../retry';

/** DynamoDB takes at most 100 keys per BatchGetItem. */
const KEYS_PER_CALL = 100;

/** Keys DynamoDB left unprocessed: retried as a throttle is (the retry predicate reads the name). */
class UnprocessedKeys extends UpstreamError {
  override name = 'ProvisionedThroughputExceededException';
}

export interface ItemKey {
  pk: string;
  sk: string;
}

/**
 * Reads many items of one table, 100 keys per BatchGetItem; keys DynamoDB leaves unprocessed
 * (it does so under load) are asked for again with backoff, as throttling is. Duplicate keys
 * are read once (BatchGetItem refuses them). Items come back in no particular order.
 */
export async function batchGetItems(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: ItemKey[],
  options: { consistentRead?: boolean; retry?: RetryOptions } = {},
): Promise<Record<string, unknown>[]> {
  const distinct = [...new Map(keys.map((k) => [`${k.pk}\u0000${k.sk}`, k])).values()];
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < distinct.length; i += KEYS_PER_CALL) {
    let pending = distinct.slice(i, i + KEYS_PER_CALL);
    try {
      await withRetry(async () => {
        const out = await client.send(
          new BatchGetCommand({
            RequestItems: {
              [tableName]: {
                Keys: pending.map(({ pk, sk }) => ({ pk, sk })),
                ...(options.consistentRead && { ConsistentRead: true }),
              },
            },
          }),
        );
        items.push(...(out.Responses?.[tableName] ?? []));
        const left = (out.UnprocessedKeys?.[tableName]?.Keys ?? []) as ItemKey[];
        pending = left;
        if (left.length > 0)
          throw new UnprocessedKeys(
            'UPSTREAM_THROTTLED',
            `DynamoDB left ${left.length} key(s) of a BatchGetItem unprocessed; they are asked for again with backoff`,
          );
      }, options.retry);
    } catch (error) {
      throw new UpstreamError(
        'UPSTREAM_FAILURE',
        `BatchGetItem on ${tableName} failed for ${pending.length} key(s): ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return items;
}
