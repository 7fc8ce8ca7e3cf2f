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

const shared = new Map<ClientClass, unknown>();

/**
 * The container's one client of a class, in the default configuration, created on first
 * use: every adapter built without a client shares it (connections, credentials, config).
 */
export function sharedClient<T extends ClientClass>(Client: T): InstanceType<T> {
  let client = shared.get(Client);
  if (client === undefined) {
    client = awsClient(Client);
    shared.set(Client, client);
  }
  return client as InstanceType<T>;
}
