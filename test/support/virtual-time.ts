/**
 * Simulated time for code that takes an injected clock and sleep: `run(task)` lets the
 * task go as far as it can, then jumps the clock to the earliest pending sleep and wakes
 * it, so hours of paced calls pass in milliseconds of wall time, in a faithful order.
 */
export class VirtualTime {
  private nowMs: number;
  private sequence = 0;
  private readonly timers: { at: number; order: number; wake: () => void }[] = [];

  constructor(start: string | number) {
    this.nowMs = typeof start === 'number' ? start : Date.parse(start);
  }

  readonly now = (): number => this.nowMs;
  readonly clock = (): Date => new Date(this.nowMs);

  readonly sleep = (ms: number): Promise<void> => {
    if (ms <= 0) return Promise.resolve();
    return new Promise((wake) => {
      this.timers.push({ at: this.nowMs + ms, order: this.sequence++, wake });
    });
  };

  /** Moves the clock forward between runs (overnight, a day later). */
  advance(ms: number): void {
    if (this.timers.length > 0) throw new Error('advance() while sleepers wait: use run()');
    this.nowMs += ms;
  }

  set(iso: string): void {
    this.advance(Date.parse(iso) - this.nowMs);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    let settled = false;
    const promise = task().finally(() => {
      settled = true;
    });
    promise.catch(() => {});
    while (!settled) {
      // Every promise that can settle without time passing has settled once this fires.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (settled) break;
      const next = this.earliest();
      if (!next) continue;
      this.nowMs = Math.max(this.nowMs, next.at);
      next.wake();
    }
    return promise;
  }

  private earliest(): { at: number; wake: () => void } | undefined {
    let best = -1;
    for (let i = 0; i < this.timers.length; i++) {
      const t = this.timers[i];
      const b = this.timers[best];
      if (t && (!b || t.at < b.at || (t.at === b.at && t.order < b.order))) best = i;
    }
    return best < 0 ? undefined : this.timers.splice(best, 1)[0];
  }
}
