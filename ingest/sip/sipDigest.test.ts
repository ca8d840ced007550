import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DfdError } from '../../kernel/errors.js';
import { SipDigestAuth, parseDigestCredentials } from './sipDigest.js';

/** RFC 2617 section 3.2.2, qop=auth, computed here independently of sipDigest.ts. */
function digestResponse(alg: 'md5' | 'sha256', a: { username: string; realm: string; password: string; method: string; uri: string; nonce: string; nc: string; cnonce: string; qop: string }): string {
  const h = (s: string): string => createHash(alg).update(s).digest('hex');
  const ha1 = h(`${a.username}:${a.realm}:${a.password}`);
  const ha2 = h(`${a.method}:${a.uri}`);
  return h(`${ha1}:${a.nonce}:${a.nc}:${a.cnonce}:${a.qop}:${ha2}`);
}

/** The quoted parameters of a challenge. */
function challengeParams(c: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of c.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]+))/g)) out[m[1]!] = m[2] ?? m[3]!;
  return out;
}

const REALM = 'srs.example.com';
const USERS: Record<string, string> = { alice: 'wonderland', carrier: 's3cret' };

function setup(over: Partial<ConstructorParameters<typeof SipDigestAuth>[0]> = {}): { auth: SipDigestAuth; clock: { t: number } } {
  const clock = { t: 1_700_000_000_000 };
  const auth = new SipDigestAuth({ realm: REALM, secret: 'k'.repeat(32), nonceTtlSec: 300, users: (u) => USERS[u], now: () => clock.t, ...over });
  return { auth, clock };
}

function authorization(nonce: string, o: Partial<{ username: string; password: string; method: string; uri: string; nc: string; cnonce: string; realm: string; alg: 'md5' | 'sha256'; algorithm: string }> = {}): string {
  const a = { username: 'alice', password: 'wonderland', method: 'INVITE', uri: 'sip:srs@example.com', nc: '00000001', cnonce: '0a4f113b', realm: REALM, qop: 'auth', nonce, ...o };
  const response = digestResponse(o.alg ?? 'md5', a);
  return `Digest username="${a.username}", realm="${a.realm}", nonce="${nonce}", uri="${a.uri}", qop=auth, nc=${a.nc}, cnonce="${a.cnonce}", response="${response}"${o.algorithm ? `, algorithm=${o.algorithm}` : ', algorithm=MD5'}`;
}

function refusal(fn: () => unknown): DfdError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DfdError);
    expect((e as DfdError).code).toBe('ERR_SIP_AUTH');
    return e as DfdError;
  }
  throw new Error('did not throw');
}

describe('SipDigestAuth', () => {
  it('the independent computation matches the RFC 2617 section 3.5 example', () => {
    expect(
      digestResponse('md5', { username: 'Mufasa', realm: 'testrealm@host.com', password: 'Circle Of Life', method: 'GET', uri: '/dir/index.html', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', nc: '00000001', cnonce: '0a4f113b', qop: 'auth' }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('challenges with realm, a signed nonce, MD5 and qop="auth"', () => {
    const { auth } = setup();
    const c = auth.challenge();
    expect(c).toMatch(/^Digest realm="srs\.example\.com", nonce="[^"]+", algorithm=MD5, qop="auth"$/);
    expect(challengeParams(auth.challenge({ stale: true }))['stale']).toBe('true');
    expect(challengeParams(c)['nonce']).not.toBe(challengeParams(auth.challenge())['nonce']);
  });

  it('accepts a response computed per RFC 2617 and returns the user', () => {
    const { auth } = setup();
    const nonce = challengeParams(auth.challenge())['nonce']!;
    expect(auth.verify('INVITE', authorization(nonce))).toEqual({ username: 'alice' });
    expect(auth.verify('INVITE', authorization(nonce, { username: 'carrier', password: 's3cret', nc: '0000000a', cnonce: 'xyz' }))).toEqual({ username: 'carrier' });
    // Upper-case hex response, no algorithm parameter (MD5 by default).
    const h = authorization(nonce).replace(/response="([0-9a-f]+)"/, (_, r: string) => `response="${r.toUpperCase()}"`).replace(', algorithm=MD5', '');
    expect(auth.verify('INVITE', h).username).toBe('alice');
    expect(auth.verify('INVITE', authorization(nonce), { uri: 'sip:srs@example.com' }).username).toBe('alice');
  });

  it('accepts SHA-256 when configured (RFC 8760) and offers it first', () => {
    const { auth } = setup({ algorithms: ['MD5', 'SHA-256'] });
    expect(auth.challenges().map((c) => challengeParams(c)['algorithm'])).toEqual(['SHA-256', 'MD5']);
    const nonce = challengeParams(auth.challenge({ algorithm: 'SHA-256' }))['nonce']!;
    expect(auth.verify('INVITE', authorization(nonce, { alg: 'sha256', algorithm: 'SHA-256' })).username).toBe('alice');
    const md5Only = setup().auth;
    expect(refusal(() => md5Only.verify('INVITE', authorization(nonce, { alg: 'sha256', algorithm: 'SHA-256' }))).details).toMatchObject({ reason: 'algorithm' });
  });

  it('refuses missing, malformed, wrong and foreign credentials', () => {
    const { auth } = setup();
    const nonce = challengeParams(auth.challenge())['nonce']!;
    const good = authorization(nonce);
    const cases: [string, string | undefined, string][] = [
      ['missing', undefined, 'missing'],
      ['empty', '  ', 'missing'],
      ['basic', 'Basic YWxpY2U6d29uZGVybGFuZA==', 'malformed'],
      ['no response', good.replace(/, response="[^"]+"/, ''), 'malformed'],
      ['no qop (RFC 2069)', good.replace(', qop=auth', ''), 'malformed'],
      ['qop auth-int', good.replace('qop=auth', 'qop=auth-int'), 'malformed'],
      ['bad nc', good.replace('nc=00000001', 'nc=1'), 'malformed'],
      ['repeated param', `${good}, nc=00000002`, 'malformed'],
      ['unterminated quote', `${good}, opaque="abc`, 'malformed'],
      ['too long', `${good}, x="${'a'.repeat(5000)}"`, 'malformed'],
      ['wrong password', authorization(nonce, { password: 'nope' }), 'wrong'],
      ['unknown user', authorization(nonce, { username: 'mallory', password: '' }), 'wrong'],
      ['other method', authorization(nonce, { method: 'REGISTER' }), 'wrong'],
      ['other realm', authorization(nonce, { realm: 'elsewhere' }), 'realm'],
      ['forged nonce', authorization(`${nonce.slice(0, -2)}AA`), 'nonce'],
      ['foreign nonce', authorization('dcd98b7102dd2f0e8b11d0f600bfb0c093'), 'nonce'],
      ['MD5-sess', authorization(nonce, { algorithm: 'MD5-sess' }), 'algorithm'],
    ];
    for (const [what, header, reason] of cases) {
      let e: DfdError;
      try {
        e = refusal(() => auth.verify('INVITE', header));
      } catch (x) {
        throw new Error(`${what}: ${String(x)}`, { cause: x });
      }
      expect(e.details, what).toMatchObject({ reason });
      expect(e.details?.['stale'], what).toBeUndefined();
    }
    expect(refusal(() => auth.verify('INVITE', good, { uri: 'sip:other@example.com' })).details).toMatchObject({ reason: 'uri' });
  });

  it('flags an expired nonce as stale only when the credentials are right', () => {
    const { auth, clock } = setup();
    const nonce = challengeParams(auth.challenge())['nonce']!;
    clock.t += 299_000;
    expect(auth.verify('INVITE', authorization(nonce)).username).toBe('alice');
    clock.t += 2_000;
    expect(refusal(() => auth.verify('INVITE', authorization(nonce))).details).toEqual({ reason: 'stale', stale: true });
    expect(refusal(() => auth.verify('INVITE', authorization(nonce, { password: 'x' }))).details).toEqual({ reason: 'wrong' });
    // Another instance with another secret does not know the nonce; one with the same secret does.
    const now = (): number => clock.t;
    expect(setup({ now }).auth.verify('INVITE', authorization(challengeParams(auth.challenge())['nonce']!)).username).toBe('alice');
    expect(refusal(() => setup({ now, secret: 'other' }).auth.verify('INVITE', authorization(challengeParams(auth.challenge())['nonce']!))).details).toMatchObject({ reason: 'nonce' });
  });

  it('parseDigestCredentials unescapes quoted values and keeps unknown params', () => {
    expect(parseDigestCredentials('Digest username="a\\"b", realm="r", nonce="n", uri="sip:x@y", response="00", opaque="o,p"')).toMatchObject({ username: 'a"b', opaque: 'o,p' });
  });

  it('refuses a bad configuration', () => {
    expect(() => setup({ realm: 'a"b' })).toThrow(DfdError);
    expect(() => setup({ secret: '' })).toThrow(DfdError);
    expect(() => setup({ nonceTtlSec: 0 })).toThrow(DfdError);
  });
});
