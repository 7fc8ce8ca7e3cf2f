import { type RetryOptions, withRetry } from '../../retry';

type Key = Record<string, unknown>;

/**
 * Pages of a DynamoDB Query or Scan, each request under `withRetry`. The SDK's `paginate*`
 * helpers call `send` themselves, so with the SDK's retries off (`awsClient`) one throttled or
 * reset page used to fail the whole read: a nightly plan, an allowlist build.
 */
export async function* retriedPages<Page extends { LastEvaluatedKey?: Key }>(
  request: (exclusiveStartKey: Key | undefined) => Promise<Page>,
  retry?: RetryOptions,
): AsyncGenerator<Page> {
  let start: Key | undefined;
  do {
    const from = start;
    const page = await withRetry(() => request(from), retry);
    yield page;
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
}
