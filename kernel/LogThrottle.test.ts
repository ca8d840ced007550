import { describe, expect, it } from 'vitest';
import { LogThrottle } from './LogThrottle.js';

describe('LogThrottle', () => {
  it('lets the first occurrence through, holds the rest of the interval back, then reports how many it held', () => {
    let t = 1_000;
    const th = new LogThrottle({ intervalMs: 10_000, now: () => t });
    expect(th.pass()).toEqual({ log: true, suppressed: 0 });
    expect(th.pass()).toEqual({ log: false, suppressed: 1 });
    t += 9_999;
    expect(th.pass()).toEqual({ log: false, suppressed: 2 });
    t += 1;
    expect(th.pass()).toEqual({ log: true, suppressed: 2 });
    t += 60_000;
    expect(th.pass()).toEqual({ log: true, suppressed: 0 });
  });

  it('interval 0 logs every occurrence; a negative or NaN interval is refused', () => {
    const th = new LogThrottle({ intervalMs: 0, now: () => 5 });
    expect([th.pass(), th.pass()]).toEqual([{ log: true, suppressed: 0 }, { log: true, suppressed: 0 }]);
    expect(() => new LogThrottle({ intervalMs: -1 })).toThrow(RangeError);
    expect(() => new LogThrottle({ intervalMs: Number.NaN })).toThrow(RangeError);
  });
});
