import { describe, expect, it } from 'vitest';
import { MAX_LISTENERS, TypedEmitter } from './TypedEmitter.js';

interface Events {
  tick: [n: number];
  done: [];
}

class Ticker extends TypedEmitter<Events> {
  tick(n: number): boolean {
    return this.safeEmit('tick', n);
  }

  done(): boolean {
    return this.safeEmit('done');
  }

  get errors(): number {
    return this.listenerErrorCount;
  }
}

describe('TypedEmitter', () => {
  it('calls listeners with their arguments and the emitter as this; once runs once; off removes', () => {
    const t = new Ticker();
    const seen: number[] = [];
    const selves: unknown[] = [];
    const l = function (this: unknown, n: number): void {
      selves.push(this);
      seen.push(n);
    };
    t.on('tick', l);
    t.once('tick', (n) => seen.push(n * 10));
    expect(t.listenerCount('tick')).toBe(2);
    expect(t.tick(1)).toBe(true);
    expect(t.tick(2)).toBe(true);
    expect(seen).toEqual([1, 10, 2]);
    expect(selves).toEqual([t, t]);
    t.off('tick', l);
    expect(t.listenerCount('tick')).toBe(0);
    expect(t.tick(3)).toBe(false);
    t.on('done', () => undefined);
    t.removeAllListeners();
    expect(t.listenerCount('done')).toBe(0);
  });

  it('safeEmit never throws: a throwing listener is counted and the others still run', () => {
    const t = new Ticker();
    const seen: number[] = [];
    t.on('tick', () => {
      throw new Error('bad listener');
    });
    t.on('tick', (n) => seen.push(n));
    expect(() => t.tick(1)).not.toThrow();
    expect(() => t.tick(2)).not.toThrow();
    expect(seen).toEqual([1, 2]);
    expect(t.errors).toBe(2);
    expect(new Ticker().errors).toBe(0);
  });

  it("'error' is an ordinary event: emitting it without a listener does not throw", () => {
    class WithError extends TypedEmitter<{ error: [Error] }> {
      fail(e: Error): boolean {
        return this.safeEmit('error', e);
      }
    }
    expect(new WithError().fail(new Error('x'))).toBe(false);
  });
});

describe('TypedEmitter leak warning', () => {
  it('warns (MaxListenersExceededWarning) past MAX_LISTENERS listeners on one event, not before', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const t = new Ticker();
      for (let i = 0; i < MAX_LISTENERS; i++) t.on('tick', () => undefined);
      await new Promise((r) => setImmediate(r));
      expect(warnings).toHaveLength(0);
      t.on('tick', () => undefined);
      // Node emits process warnings on the next tick.
      for (let i = 0; i < 10 && warnings.length === 0; i++) await new Promise((r) => setImmediate(r));
      expect(warnings).toHaveLength(1);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
