import { describe, expect, it } from 'vitest';
import { TokenBucket, defaultTokenBucketOptions } from './TokenBucket.js';

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** How many take() calls succeed in a row before the first refusal (bounded). */
function drain(bucket: TokenBucket, max = 10_000): number {
  let n = 0;
  while (n < max && bucket.take()) n++;
  return n;
}

describe('TokenBucket', () => {
  it('starts full: `burst` takes succeed at once, the next is refused', () => {
    const c = clock();
    const bucket = new TokenBucket({ ratePerSec: 10, burst: 5, now: c.now });
    expect(drain(bucket)).toBe(5);
    expect(bucket.take()).toBe(false);
  });

  it('refills at ratePerSec', () => {
    const c = clock();
    const bucket = new TokenBucket({ ratePerSec: 10, burst: 5, now: c.now });
    drain(bucket);
    c.advance(99); // 0.99 token: not yet
    expect(bucket.take()).toBe(false);
    c.advance(1); // 1 token
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    c.advance(300); // 3 tokens
    expect(drain(bucket)).toBe(3);
  });

  it('never holds more than burst, however long it rests', () => {
    const c = clock();
    const bucket = new TokenBucket({ ratePerSec: 10, burst: 5, now: c.now });
    drain(bucket);
    c.advance(3_600_000);
    expect(drain(bucket)).toBe(5);
  });

  it('a refused take spends nothing: fractions keep accumulating', () => {
    const c = clock();
    const bucket = new TokenBucket({ ratePerSec: 4, burst: 1, now: c.now });
    expect(bucket.take()).toBe(true);
    for (let i = 0; i < 4; i++) {
      c.advance(50); // 0.2 token each
      expect(bucket.take()).toBe(false);
    }
    c.advance(50); // 1.0 token in all
    expect(bucket.take()).toBe(true);
    expect(bucket.tokens).toBeCloseTo(0);
  });

  it('sustains exactly ratePerSec under a steady flood', () => {
    const c = clock();
    const bucket = new TokenBucket({ ratePerSec: 50, burst: 200, now: c.now });
    drain(bucket);
    let accepted = 0;
    for (let ms = 0; ms < 10_000; ms += 5) {
      c.advance(5); // a request every 5 ms, 200/s
      if (bucket.take()) accepted++;
    }
    expect(accepted).toBe(500);
  });

  it('defaults: 50/s, burst 200, the wall clock', () => {
    expect(defaultTokenBucketOptions.ratePerSec).toBe(50);
    expect(defaultTokenBucketOptions.burst).toBe(200);
    const bucket = new TokenBucket();
    expect(bucket.options.burst).toBe(200);
    expect(Math.abs(bucket.options.now() - Date.now())).toBeLessThan(1000);
    expect(drain(bucket)).toBeGreaterThanOrEqual(200);
  });
});
