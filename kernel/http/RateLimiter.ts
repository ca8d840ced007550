/**
 * Per-key rate limits (a token bucket per client address): `take(key)` spends one request
 * or throws ERR_RATE_LIMITED with `retryAfterSec`. The number of keys is bounded: when full,
 * the least recently used key is forgotten (an attacker rotating addresses can only make
 * the limiter forget, never grow memory).
 */
import { TokenBucket } from '../TokenBucket.js';
import { DfdError } from '../errors.js';
import { counter } from '../metrics.js';
import { lruSet } from '../lruSet.js';

const limited = counter<'limiter'>({ name: 'dfd_rate_limited_total', help: 'Requests refused by a per-client rate limit', labelNames: ['limiter'] });

export interface RateLimiterOptions {
  /** Name in metrics and error details (e.g. "auth", "join"). */
  name: string;
  /** Requests per minute per key (sustained), and the burst a quiet key may spend at once. */
  perMinute: number;
  burst: number;
  /** Keys remembered at most. */
  maxKeys: number;
  now: () => number;
}

export const defaultRateLimiterOptions: RateLimiterOptions = {
  name: 'requests',
  perMinute: 60,
  burst: 60,
  maxKeys: 10_000,
  now: () => Date.now(),
};

export class RateLimiter {
  readonly options: RateLimiterOptions;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(options: Partial<RateLimiterOptions> = {}) {
    this.options = { ...defaultRateLimiterOptions, ...options };
    if (!(this.options.perMinute > 0) || !(this.options.burst >= 1) || !(this.options.maxKeys >= 1)) {
      throw new DfdError('ERR_CONFIG', 'rate limiter needs a positive rate, burst and key limit', { name: this.options.name });
    }
  }

  /** Spends one request of `key`; throws ERR_RATE_LIMITED (429, retryable) when its bucket is empty. */
  take(key: string): void {
    const bucket = this.#buckets.get(key) ?? new TokenBucket({ ratePerSec: this.options.perMinute / 60, burst: this.options.burst, now: this.options.now });
    lruSet(this.#buckets, key, bucket, this.options.maxKeys);
    if (!bucket.take()) {
      limited.inc({ limiter: this.options.name });
      const retryAfterSec = Math.max(1, Math.ceil((1 - bucket.tokens) / (this.options.perMinute / 60)));
      throw new DfdError('ERR_RATE_LIMITED', this.options.name, { limiter: this.options.name, retryAfterSec });
    }
  }

  /** Keys remembered now. */
  get size(): number {
    return this.#buckets.size;
  }
}
