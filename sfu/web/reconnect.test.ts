import { describe, expect, it } from 'vitest';
import { closeCause, defaultReconnectOptions, isRetryable, reconnect, reconnectDelay, type ReconnectOptions } from './reconnect.js';

const opts: ReconnectOptions = { initialDelayMs: 100, factor: 2, maxDelayMs: 1000, maxAttempts: 5, jitter: 0.2 };
const coded = (code: string, retryable = false): Error => Object.assign(new Error(code), { code, retryable });

describe('reconnectDelay', () => {
  it('grows exponentially up to the cap, spread by the jitter', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 6].map((n) => reconnectDelay(n, opts, mid))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(reconnectDelay(1, opts, () => 0)).toBe(80);
    expect(reconnectDelay(1, opts, () => 0.999999)).toBe(120);
  });

  it('the defaults give up within about a minute', () => {
    let total = 0;
    for (let n = 1; n <= defaultReconnectOptions.maxAttempts; n++) total += reconnectDelay(n, defaultReconnectOptions, () => 1);
    expect(total).toBeLessThan(60_000);
  });
});

describe('closeCause', () => {
  it('own leave, the server shutting down, anything else is a drop', () => {
    expect(closeCause({ code: 1005 }, { leaving: true, shuttingDown: false })).toBe('left');
    expect(closeCause({ code: 1006 }, { leaving: false, shuttingDown: true })).toBe('shutdown');
    expect(closeCause({ code: 1001 }, { leaving: false, shuttingDown: false })).toBe('shutdown');
    for (const code of [1000, 1005, 1006, 4410, 4429]) expect(closeCause({ code }, { leaving: false, shuttingDown: false })).toBe('dropped');
    // Joined again from another window: not a drop to recover from.
    expect(closeCause({ code: 4409 }, { leaving: false, shuttingDown: false })).toBe('replaced');
    expect(closeCause({ code: 4409 }, { leaving: true, shuttingDown: false })).toBe('left');
  });
});

describe('isRetryable', () => {
  it('network failures and retryable codes are; a bad token is not', () => {
    expect(isRetryable(new Error('signalling connection failed'))).toBe(true);
    expect(isRetryable(coded('ERR_CLOSED'))).toBe(true);
    expect(isRetryable(coded('ERR_ALREADY_JOINED'))).toBe(true);
    expect(isRetryable(coded('ERR_SOMETHING', true))).toBe(true);
    expect(isRetryable(coded('ERR_TOKEN_INVALID'))).toBe(false);
    expect(isRetryable(coded('ERR_FORBIDDEN'))).toBe(false);
  });
});

describe('reconnect', () => {
  const sleeps: number[] = [];
  const loop = (attempt: (n: number) => Promise<void>, stop: () => boolean = () => false) => ({
    attempt,
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
    shouldStop: stop,
    random: () => 0.5,
  });

  it('retries with backoff until a join succeeds', async () => {
    sleeps.length = 0;
    const r = await reconnect(loop(async (n) => {
      if (n < 3) throw new Error('signalling connection failed');
    }), opts);
    expect(r).toEqual({ outcome: 'joined', attempts: 3 });
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it('gives up after the bounded number of attempts', async () => {
    sleeps.length = 0;
    let tries = 0;
    const r = await reconnect(loop(async () => {
      tries++;
      throw coded('ERR_CLOSED');
    }), opts);
    expect(r.outcome).toBe('gave-up');
    expect(tries).toBe(5);
    expect(sleeps).toHaveLength(5);
  });

  it('stops when told (the service is shutting down), and on an error another try cannot fix', async () => {
    let stop = false;
    const stopped = await reconnect(loop(async () => {
      stop = true;
      throw coded('ERR_SHUTTING_DOWN', true);
    }, () => stop), opts);
    expect(stopped).toEqual({ outcome: 'stopped', attempts: 1 });
    const fatal = await reconnect(loop(async () => {
      throw coded('ERR_TOKEN_INVALID');
    }), opts);
    expect(fatal.outcome).toBe('fatal');
    expect(fatal.attempts).toBe(1);
    const before = await reconnect(loop(async () => undefined, () => true), opts);
    expect(before).toEqual({ outcome: 'stopped', attempts: 0 });
  });
});
