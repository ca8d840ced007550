/**
 * Fuzz: join tokens (and operator sessions, same format). `verify` never throws anything but
 * ERR_TOKEN_INVALID / ERR_TOKEN_EXPIRED; a genuine token round-trips its claims; no other
 * spelling of a genuine token, no random string and nothing signed with another secret verifies.
 * Corpus: test/fuzz/corpus/tokens.json (verified at a fixed clock).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FuzzBoundary, loadCorpus, outcome } from '../test/helpers/fuzz.js';
import { TokenSigner, type TokenPayload } from './tokens.js';

const NOW = 1_750_000_000_000;
const CODES = ['ERR_TOKEN_INVALID', 'ERR_TOKEN_EXPIRED'] as const;
const fuzz = new FuzzBoundary('tokens');
const signer = new TokenSigner('fuzz-secret');

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const claims: fc.Arbitrary<Omit<TokenPayload, 'exp'>> = fc.record({
  room: id,
  peer: id,
  name: fc.string({ minLength: 1, maxLength: 80, unit: 'grapheme' }).filter((s) => s.length <= 80),
  role: fc.constantFrom('participant', 'observer', 'operator'),
});
const b64url = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.='), maxLength: 200 });

/** One edit of a token's text. */
const edit = fc.oneof(
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), ch: fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), ch: fc.string({ minLength: 1, maxLength: 3, unit: 'binary' }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), ch: fc.constant('') }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat(), ch: fc.constant('') }),
);
function apply(token: string, e: { op: 'replace' | 'insert' | 'delete' | 'truncate'; at: number; ch: string }): string {
  const i = e.at % (token.length + 1);
  switch (e.op) {
    case 'replace':
      return token.slice(0, i) + e.ch + token.slice(i + 1);
    case 'insert':
      return token.slice(0, i) + e.ch + token.slice(i);
    case 'delete':
      return token.slice(0, i) + token.slice(i + 1);
    case 'truncate':
      return token.slice(0, i);
  }
}

describe('fuzz: join tokens (TokenSigner.verify)', () => {
  it('replays the corpus with its recorded outcomes', () => {
    fuzz.replay(loadCorpus<string>('tokens'), (t) => outcome(() => signer.verify(t, NOW), CODES));
  });

  it('a genuine token verifies and round-trips its claims', () => {
    fuzz.check(
      fc.property(claims, fc.integer({ min: 1, max: 10 * 86_400 }), (c, ttl) => {
        const token = signer.sign(c, ttl, NOW);
        expect(signer.verify(token, NOW)).toEqual({ ...c, exp: Math.floor(NOW / 1000) + ttl });
        // ...and only until its expiry, which is the only way to get ERR_TOKEN_EXPIRED.
        expect(outcome(() => signer.verify(token, NOW + ttl * 1000), CODES)).toBe('ERR_TOKEN_EXPIRED');
      }),
    );
  });

  it('any other spelling of a genuine token is refused with ERR_TOKEN_INVALID', () => {
    fuzz.check(
      fc.property(claims, fc.array(edit, { minLength: 1, maxLength: 4 }), (c, edits) => {
        const token = signer.sign(c, 3600, NOW);
        const mutated = edits.reduce(apply, token);
        fc.pre(mutated !== token);
        expect(outcome(() => signer.verify(mutated, NOW), CODES)).toBe('ERR_TOKEN_INVALID');
      }),
      3,
    );
  });

  it('random strings, token-shaped strings and non-strings never verify', () => {
    fuzz.check(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), b64url, fc.tuple(b64url, b64url).map(([a, b]) => `${a}.${b}`), fc.anything()), (t) => {
        expect(outcome(() => signer.verify(t, NOW), CODES)).toBe('ERR_TOKEN_INVALID');
      }),
      3,
    );
  });

  it('a token signed with another secret, or with its body swapped, never verifies', () => {
    fuzz.check(
      fc.property(claims, claims, fc.string({ minLength: 1, maxLength: 40 }), (a, b, secret) => {
        fc.pre(secret !== 'fuzz-secret');
        expect(outcome(() => signer.verify(new TokenSigner(secret).sign(a, 3600, NOW), NOW), CODES)).toBe('ERR_TOKEN_INVALID');
        const ta = signer.sign(a, 3600, NOW);
        const tb = signer.sign(b, 3600, NOW);
        const swapped = `${tb.split('.')[0]!}.${ta.split('.')[1]!}`;
        fc.pre(swapped !== ta);
        expect(outcome(() => signer.verify(swapped, NOW), CODES)).toBe('ERR_TOKEN_INVALID');
      }),
    );
  });
});
