/**
 * A token bucket: `take()` spends one token when there is one, and tokens come back at
 * `ratePerSec` up to `burst`. The bucket starts full. It is refilled lazily, from the time
 * that passed since the last `take()`, so it needs no timer and nothing to close.
 *
 * Used to rate-limit what a peer sends over one socket (signalling requests, Twilio frames).
 */

export interface TokenBucketOptions {
  /** Tokens that come back per second (the sustained rate). */
  ratePerSec: number;
  /** Most tokens the bucket holds (the burst a quiet peer may send at once). */
  burst: number;
  /** The clock, in ms; tests inject one. */
  now: () => number;
}

export const defaultTokenBucketOptions: TokenBucketOptions = {
  ratePerSec: 50,
  burst: 200,
  // Read Date.now at each call, not once here, so that fake timers reach it.
  now: () => Date.now(),
};

export class TokenBucket {
  readonly options: TokenBucketOptions;
  #tokens: number;
  #lastRefill: number;

  constructor(options: Partial<TokenBucketOptions> = {}) {
    this.options = { ...defaultTokenBucketOptions, ...options };
    this.#tokens = this.options.burst;
    this.#lastRefill = this.options.now();
  }

  /** Spends one token; false (and nothing spent) when the bucket is empty. */
  take(): boolean {
    const now = this.options.now();
    this.#tokens = Math.min(this.options.burst, this.#tokens + ((now - this.#lastRefill) / 1000) * this.options.ratePerSec);
    this.#lastRefill = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Tokens left as of the last `take()` (fractional while refilling). */
  get tokens(): number {
    return this.#tokens;
  }
}
