import { describe, expect, it } from 'vitest';
import { RateLimiter } from './RateLimiter.js';
import { isDfdError, type DfdError } from '../errors.js';

function refusal(f: () => void): DfdError {
  try {
    f();
  } catch (e) {
    if (isDfdError(e)) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('RateLimiter', () => {
  it('lets a burst through per key, then refuses with ERR_RATE_LIMITED and a retry time, and refills with time', () => {
    let now = 1_000_000;
    const rl = new RateLimiter({ name: 'auth', perMinute: 6, burst: 3, now: () => now });
    for (let i = 0; i < 3; i++) rl.take('10.0.0.1');
    const e = refusal(() => rl.take('10.0.0.1'));
    expect(e.code).toBe('ERR_RATE_LIMITED');
    expect(e.status).toBe(429);
    expect(e.details).toMatchObject({ limiter: 'auth', retryAfterSec: 10 });
    // Another client is not affected.
    rl.take('10.0.0.2');
    // One request comes back every 10 s (6 per minute).
    now += 9_000;
    expect(refusal(() => rl.take('10.0.0.1')).code).toBe('ERR_RATE_LIMITED');
    now += 1_500;
    rl.take('10.0.0.1');
    expect(refusal(() => rl.take('10.0.0.1')).code).toBe('ERR_RATE_LIMITED');
  });

  it('remembers at most maxKeys clients (the least recently used is forgotten)', () => {
    const rl = new RateLimiter({ perMinute: 1, burst: 1, maxKeys: 3, now: () => 0 });
    for (const k of ['a', 'b', 'c']) rl.take(k);
    expect(refusal(() => rl.take('a')).code).toBe('ERR_RATE_LIMITED'); // a is now the most recent
    rl.take('d'); // forgets b
    expect(rl.size).toBe(3);
    rl.take('b'); // a fresh bucket again
    expect(refusal(() => rl.take('a')).code).toBe('ERR_RATE_LIMITED');
  });

  it('refuses options that would never admit anything', () => {
    expect(() => new RateLimiter({ perMinute: 0 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
    expect(() => new RateLimiter({ burst: 0 })).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
  });
});
