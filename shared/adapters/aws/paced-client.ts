import type { ApiPacer } from '../../rate-limit';
import { isThrottlingError } from '../../retry';

/** Calls and throttling answers per AWS API: the planner's metrics and the benchmark read them. */
export class ApiCallStats {
  readonly calls = new Map<string, number>();
  readonly throttles = new Map<string, number>();

  record(api: string, throttled: boolean): void {
    this.calls.set(api, (this.calls.get(api) ?? 0) + 1);
    if (throttled) this.throttles.set(api, (this.throttles.get(api) ?? 0) + 1);
  }

  total(): number {
    let sum = 0;
    for (const n of this.calls.values()) sum += n;
    return sum;
  }

  snapshot(): Record<string, { calls: number; throttles: number }> {
    return Object.fromEntries(
      [...this.calls.keys()]
        .sort()
        .map((api) => [
          api,
          { calls: this.calls.get(api) ?? 0, throttles: this.throttles.get(api) ?? 0 },
        ]),
    );
  }
}

interface CommandLike {
  schema?: unknown;
  clientCommand?: CommandLike;
}

/**
 * The AWS operation a command calls (`DescribeImages`, `GetItem`). Read from the command's
 * operation schema, because bundlers may rename classes; lib-dynamodb commands wrap the
 * low-level one in `clientCommand`.
 */
export function apiNameOf(command: object): string {
  const target = (command as CommandLike).clientCommand ?? (command as CommandLike);
  const schema = target.schema;
  if (Array.isArray(schema) && typeof schema[2] === 'string') return schema[2];
  const named = (schema as { name?: unknown } | undefined)?.name;
  if (typeof named === 'string') return named;
  return target.constructor.name.replace(/Command$/, '');
}

interface Sends {
  send(command: object, ...rest: unknown[]): Promise<unknown>;
}

/**
 * The same SDK client, except that every `send` first waits for its API's token and is
 * counted. Retries go through `send` again, so they are paced and counted too.
 */
export function pacedClient<C extends object>(
  client: C,
  pacer: ApiPacer,
  stats: ApiCallStats = new ApiCallStats(),
): C {
  const target = client as unknown as Sends;
  const send = async (command: object, ...rest: unknown[]): Promise<unknown> => {
    const api = apiNameOf(command);
    await pacer.take(api);
    try {
      const out = await target.send(command, ...rest);
      stats.record(api, false);
      return out;
    } catch (error) {
      stats.record(api, isThrottlingError(error));
      throw error;
    }
  };
  return new Proxy(client, {
    get: (object, property, receiver) =>
      property === 'send' ? send : Reflect.get(object, property, receiver),
  });
}
