import { describe, expect, it } from 'vitest';
import { SignInLockout } from './SignInLockout.js';
import { OperatorAuth } from './OperatorAuth.js';
import { isDfdError } from '../kernel/errors.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (isDfdError(e)) return e.code;
    throw e;
  }
}

describe('SignInLockout', () => {
  it('locks an address after maxFailures, doubles the next lock, and a success clears it', () => {
    let now = 0;
    const l = new SignInLockout({ maxFailures: 3, lockoutSec: 60, now: () => now });
    for (let i = 0; i < 2; i++) l.failed('1.2.3.4', 'operator');
    expect(codeOf(() => l.check('1.2.3.4', 'operator'))).toBeUndefined();
    l.failed('1.2.3.4', 'operator');
    let e: unknown;
    try {
      l.check('1.2.3.4', 'someone-else');
    } catch (x) {
      e = x;
    }
    expect(isDfdError(e, 'ERR_LOCKED_OUT')).toBe(true);
    expect((e as { details: { retryAfterSec: number } }).details.retryAfterSec).toBe(60);
    // Another address may still try the same user (the user limit is 4x higher).
    expect(codeOf(() => l.check('5.6.7.8', 'operator'))).toBeUndefined();
    now += 61_000;
    expect(codeOf(() => l.check('1.2.3.4', 'operator'))).toBeUndefined();
    for (let i = 0; i < 3; i++) l.failed('1.2.3.4', 'operator');
    now += 61_000;
    expect(codeOf(() => l.check('1.2.3.4', 'operator'))).toBe('ERR_LOCKED_OUT'); // second lock: 120 s
    now += 60_000;
    expect(codeOf(() => l.check('1.2.3.4', 'operator'))).toBeUndefined();
    l.succeeded('1.2.3.4', 'operator');
    for (let i = 0; i < 2; i++) l.failed('1.2.3.4', 'operator');
    expect(codeOf(() => l.check('1.2.3.4', 'operator'))).toBeUndefined();
  });

  it('locks a user name guessed from many addresses at userFailureFactor x maxFailures', () => {
    const l = new SignInLockout({ maxFailures: 2, userFailureFactor: 3, lockoutSec: 60, now: () => 0 });
    for (let i = 0; i < 5; i++) l.failed(`10.0.0.${i}`, 'Operator');
    expect(codeOf(() => l.check('10.9.9.9', 'operator'))).toBeUndefined();
    l.failed('10.0.0.77', 'OPERATOR');
    expect(codeOf(() => l.check('10.9.9.9', 'operator'))).toBe('ERR_LOCKED_OUT');
  });

  it('forgets failures after a quiet window and keeps its memory bounded', () => {
    let now = 0;
    const l = new SignInLockout({ maxFailures: 2, windowSec: 100, maxKeys: 4, now: () => now });
    l.failed('a', 'u1');
    now += 101_000;
    l.failed('a', 'u1');
    expect(codeOf(() => l.check('a', 'u1'))).toBeUndefined();
    for (let i = 0; i < 10; i++) l.failed(`x${i}`, `user${i}`);
    expect(l.size).toBeLessThanOrEqual(4);
  });
});

describe('OperatorAuth with lockout', () => {
  it('refuses even the right password while locked, without comparing it, and counts only failures', () => {
    const auth = new OperatorAuth({ password: 'right', lockout: { maxFailures: 2, lockoutSec: 30 } });
    expect(codeOf(() => auth.login('operator', 'wrong', '9.9.9.9'))).toBe('ERR_TOKEN_INVALID');
    expect(auth.login('operator', 'right', '9.9.9.9').token).toBeTruthy(); // success clears
    expect(codeOf(() => auth.login('operator', 'wrong', '9.9.9.9'))).toBe('ERR_TOKEN_INVALID');
    expect(codeOf(() => auth.login('operator', 'wrong', '9.9.9.9'))).toBe('ERR_TOKEN_INVALID');
    expect(codeOf(() => auth.login('operator', 'right', '9.9.9.9'))).toBe('ERR_LOCKED_OUT');
    // Another address signs in.
    expect(auth.login('operator', 'right', '8.8.8.8').token).toBeTruthy();
    // Malformed input is a bad request, not a failure towards the lockout.
    expect(codeOf(() => auth.login(42, 'x', '7.7.7.7'))).toBe('ERR_BAD_REQUEST');
  });
});
