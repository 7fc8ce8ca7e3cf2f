import type { EvaluateRequest } from '../domain/evaluate-request';
import { imageId } from '../domain/image-ref';
import { silentLog } from '../ports';
import { Coalescer } from './coalesce';
import {
  type EvaluateImageOptions,
  type EvaluateImageResult,
  evaluateImage,
} from './evaluate-image';
import { readAhead } from './read-ahead';

export interface BatchMessage {
  id: string;
  body: string;
}

export interface BatchOutcome {
  /** Message ids to report back as failed (they return to the queue, then the DLQ). */
  failed: string[];
  results: EvaluateImageResult[];
  /** Distinct images evaluated: duplicates and bursts about one digest share one evaluation. */
  evaluations: number;
}

/**
 * Reads one message body into the evaluate requests it implies; throws for a body that is
 * not one (the message fails). The queue's wire format is its adapter's: the root passes it.
 */
export type MessageReader = (body: string) => EvaluateRequest[];

export interface EvaluateBatchOptions extends EvaluateImageOptions {
  /** Evaluations running at once inside one invocation. */
  concurrency?: number;
}

/**
 * Evaluates one SQS batch: parse every body, evaluate each distinct digest once, and
 * fail exactly the messages whose parse or evaluation failed.
 */
export async function evaluateBatch(
  messages: BatchMessage[],
  options: EvaluateBatchOptions,
  read: MessageReader,
): Promise<BatchOutcome> {
  const log = options.log ?? silentLog;
  const failed = new Set<string>();
  const work: { id: string; requests: EvaluateRequest[] }[] = [];
  for (const message of messages) {
    try {
      const requests = read(message.body);
      if (requests.length === 0) log.info('message needs no evaluation', { messageId: message.id });
      work.push({ id: message.id, requests });
    } catch (error) {
      failed.add(message.id);
      log.error('rejected message: it goes back to the queue and then to the DLQ', {
        messageId: message.id,
        error: describe(error),
      });
    }
  }

  const ahead = await readAhead(
    work.flatMap((w) => w.requests),
    options,
  );
  const coalescer = new Coalescer<EvaluateImageResult>();
  const limit = limiter(options.concurrency ?? 8);
  const results = new Map<string, EvaluateImageResult>();
  await Promise.all(
    work.map(async ({ id, requests }) => {
      for (const request of requests) {
        const key = imageId(request.key);
        try {
          const result = await coalescer.run(key, () =>
            limit(() => {
              // The first evaluation of an image only: a later one must see what it wrote.
              const read = ahead.get(key);
              ahead.delete(key);
              return evaluateImage(request, options, read);
            }),
          );
          results.set(key, result);
        } catch (error) {
          failed.add(id);
          log.error('evaluation failed; the message will be retried', {
            messageId: id,
            image: key,
            trigger: request.trigger,
            error: describe(error),
          });
        }
      }
    }),
  );
  return { failed: [...failed], results: [...results.values()], evaluations: coalescer.size };
}

function describe(error: unknown): { name: string; code?: string; message: string } {
  const e = error as { name?: string; code?: string; message?: string };
  return {
    name: e?.name ?? 'Error',
    ...(e?.code && { code: e.code }),
    message: e?.message ?? String(error),
  };
}

/** At most `n` tasks at once. */
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async (task) => {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}
