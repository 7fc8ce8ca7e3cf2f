/**
 * SDK v3 clients retry 3 times by default inside every `send`, unseen by our token buckets
 * and metrics. Every client is built here with one attempt, so `withRetry` (shared/retry.ts)
 * is the only retry layer: each attempt is paced and counted (docs/rescans.md, Pacing).
 */
export const SDK_MAX_ATTEMPTS = 1;

// biome-ignore lint/suspicious/noExplicitAny: any SDK client constructor, whatever its config type
type ClientClass = new (config: any) => unknown;

export function awsClient<T extends ClientClass>(
  Client: T,
  config?: NonNullable<ConstructorParameters<T>[0]>,
): InstanceType<T> {
  return new Client({ ...config, maxAttempts: SDK_MAX_ATTEMPTS }) as InstanceType<T>;
}
