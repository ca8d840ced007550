/**
 * Brute-force lockout for operator sign-in. Failures are counted per client address and per
 * user name; a key that reaches its limit is locked, and each further lock of the same key
 * (before `windowSec` of quiet) lasts twice the previous one, up to `maxLockoutSec`. While a key is locked, sign-in is
 * refused with ERR_LOCKED_OUT before the password is even compared (no oracle), and a
 * success clears both keys.
 *
 * Per address the limit is `maxFailures`; per user name it is `userFailureFactor` times that,
 * so a distributed guesser is slowed too while one noisy address cannot lock the operator
 * out from everywhere at once (the trade-off is written down in docs/security.md).
 */
import { DfdError } from '../kernel/errors.js';
import { counter } from '../kernel/metrics.js';
import { lruSet } from '../kernel/lruSet.js';

const failures = counter({ name: 'dfd_auth_failures_total', help: 'Failed operator sign-ins (wrong user name or password)' });
const lockouts = counter<'scope'>({ name: 'dfd_auth_lockouts_total', help: 'Operator sign-in lockouts started', labelNames: ['scope'] });

export interface SignInLockoutOptions {
  maxFailures: number;
  /** The user-name limit is this many times `maxFailures`. */
  userFailureFactor: number;
  lockoutSec: number;
  maxLockoutSec: number;
  /** Failures older than this (with no lock) are forgotten. */
  windowSec: number;
  maxKeys: number;
  now: () => number;
}

export const defaultSignInLockoutOptions: SignInLockoutOptions = {
  maxFailures: 5,
  userFailureFactor: 4,
  lockoutSec: 300,
  maxLockoutSec: 86_400,
  windowSec: 900,
  maxKeys: 10_000,
  now: () => Date.now(),
};

interface KeyState {
  failures: number;
  lastFailureAt: number;
  lockedUntil: number;
  /** Length of the last lock, ms (doubles each time). */
  lastLockMs: number;
}

export class SignInLockout {
  readonly options: SignInLockoutOptions;
  readonly #keys = new Map<string, KeyState>();

  constructor(options: Partial<SignInLockoutOptions> = {}) {
    this.options = { ...defaultSignInLockoutOptions, ...options };
    const o = this.options;
    if (!(o.maxFailures >= 1 && o.userFailureFactor >= 1 && o.lockoutSec > 0 && o.maxLockoutSec >= o.lockoutSec && o.windowSec > 0 && o.maxKeys >= 2)) {
      throw new DfdError('ERR_CONFIG', 'sign-in lockout limits must be positive');
    }
  }

  /** Throws ERR_LOCKED_OUT (with `retryAfterSec`) when the address or the user name is locked now. */
  check(address: string, username: string): void {
    const now = this.options.now();
    let until = 0;
    for (const key of [addrKey(address), userKey(username)]) {
      const s = this.#keys.get(key);
      if (s && s.lockedUntil > now) until = Math.max(until, s.lockedUntil);
    }
    if (until > now) throw new DfdError('ERR_LOCKED_OUT', undefined, { retryAfterSec: Math.ceil((until - now) / 1000) });
  }

  /** Records a failed sign-in; locks a key that reached its limit (or extends a running lock). */
  failed(address: string, username: string): void {
    failures.inc();
    this.#fail(addrKey(address), this.options.maxFailures, 'address');
    this.#fail(userKey(username), this.options.maxFailures * this.options.userFailureFactor, 'user');
  }

  /** A successful sign-in clears both keys. */
  succeeded(address: string, username: string): void {
    this.#keys.delete(addrKey(address));
    this.#keys.delete(userKey(username));
  }

  /** Keys tracked now (bounded by `maxKeys`). */
  get size(): number {
    return this.#keys.size;
  }

  #fail(key: string, limit: number, scope: 'address' | 'user'): void {
    const o = this.options;
    const now = o.now();
    let s = this.#keys.get(key);
    if (s && s.lockedUntil <= now && now - s.lastFailureAt > o.windowSec * 1000) s = undefined; // stale: start over
    if (!s) s = { failures: 0, lastFailureAt: now, lockedUntil: 0, lastLockMs: 0 };
    lruSet(this.#keys, key, s, o.maxKeys);
    s.failures++;
    s.lastFailureAt = now;
    if (s.lockedUntil > now || s.failures >= limit) {
      const ms = Math.min(o.maxLockoutSec * 1000, s.lastLockMs > 0 ? s.lastLockMs * 2 : o.lockoutSec * 1000);
      if (s.lockedUntil <= now) lockouts.inc({ scope });
      s.lastLockMs = ms;
      s.lockedUntil = now + ms;
      s.failures = 0;
    }
  }
}

const addrKey = (a: string): string => `a:${a}`;
const userKey = (u: string): string => `u:${u.toLowerCase().slice(0, 128)}`;
