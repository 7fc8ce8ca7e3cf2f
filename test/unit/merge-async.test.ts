import { mergeAsync } from '../../shared/merge-async';

async function* source(name: string, items: number, failAt?: number): AsyncGenerator<string> {
  for (let i = 0; i < items; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    if (i === failAt) throw new Error(`${name} failed at ${i}`);
    yield `${name}${i}`;
  }
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('GIVEN several async sources merged', () => {
  it('THEN every item of every source arrives once, each source in its own order', async () => {
    const items = await collect(mergeAsync([source('a', 3), source('b', 5), source('c', 0)]));
    expect([...items].sort()).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2', 'b3', 'b4']);
    expect(items.filter((i) => i.startsWith('b'))).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
  });

  it('THEN the first failure rejects the merge', async () => {
    await expect(collect(mergeAsync([source('a', 5, 1), source('b', 5)]))).rejects.toThrow(
      'a failed at 1',
    );
  });

  it('THEN a source that fails after the consumer stopped reading leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      for await (const item of mergeAsync([source('a', 5, 1), source('b', 5, 1)])) {
        expect(item).toMatch(/^[ab]0$/);
        break; // the next item of the source just read is already being pulled
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});
