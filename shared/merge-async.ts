/** Items from several async iterables, in whatever order they arrive. */
export async function* mergeAsync<T>(sources: AsyncIterable<T>[]): AsyncIterable<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ index: number; result: IteratorResult<T> }>>();
  const pull = (index: number) => {
    const iterator = iterators[index];
    if (!iterator) return;
    const next = iterator.next().then((result) => ({ index, result }));
    // Once one source fails the others are not awaited: keep their failures from going unhandled.
    next.catch(() => {});
    pending.set(index, next);
  };
  for (let i = 0; i < iterators.length; i++) pull(i);
  while (pending.size > 0) {
    const { index, result } = await Promise.race(pending.values());
    if (result.done) {
      pending.delete(index);
      continue;
    }
    pull(index);
    yield result.value;
  }
}
