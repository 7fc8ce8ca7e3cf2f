export interface RetryOptions {
  /** Total attempts, the first included. */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Decides whether an error is worth another attempt. */
  retryable?: (error: unknown) => boolean;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

const THROTTLING = new Set([
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
]);

// What the SDK's Node HTTP handler throws when a connection drops or times out (`TimeoutError`
// with the socket's code). With the SDK's own retries off (`SDK_MAX_ATTEMPTS`), nothing marks
// these `$retryable`, so without this list a reset was never retried.
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** AWS errors worth retrying: throttling, 5xx, dropped connections, SDK-marked transient faults. */
export function isRetryableAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as {
    name?: string;
    code?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  if (e.name && (THROTTLING.has(e.name) || TRANSIENT_NAMES.has(e.name))) return true;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && (status === 429 || status >= 500);
}

export function isThrottlingError(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name !== undefined && THROTTLING.has(name);
}

/** Exponential backoff with full jitter (the AWS Architecture Blog recipe). */
export async function withRetry<T>(task: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const {
    attempts = 5,
    baseDelayMs = 100,
    maxDelayMs = 5_000,
    retryable = isRetryableAwsError,
    random = Math.random,
  } = options;
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await task();
    } catch (error) {
      if (attempt >= attempts || !retryable(error)) throw error;
      const delay = Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
      options.onRetry?.(error, attempt, delay);
      await wait(delay);
    }
  }
}
