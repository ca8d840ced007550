import { describe, expect, it } from 'vitest';
import { TokenSigner } from './tokens.js';
import { isDfdError } from '../kernel/errors.js';

describe('join tokens', () => {
  const signer = new TokenSigner('s3cret');
  const claims = { room: 'room-1', peer: 'peer_1', name: 'Zoë', role: 'participant' as const };

  it('round-trips claims', () => {
    const t = signer.sign(claims, 60);
    expect(signer.verify(t)).toMatchObject(claims);
  });

  it('rejects tampered payloads, wrong keys, expiry and junk with stable codes', () => {
    const t = signer.sign(claims, 60);
    const [body, sig] = t.split('.') as [string, string];
    const evil = Buffer.from(JSON.stringify({ ...claims, role: 'operator', exp: 9e9 })).toString('base64url');
    const codeOf = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return isDfdError(e) ? e.code : 'not-dfd';
      }
      return undefined;
    };
    expect(codeOf(() => signer.verify(`${evil}.${sig}`))).toBe('ERR_TOKEN_INVALID');
    expect(codeOf(() => new TokenSigner('other').verify(t))).toBe('ERR_TOKEN_INVALID');
    expect(codeOf(() => signer.verify(`${body}.`))).toBe('ERR_TOKEN_INVALID');
    expect(codeOf(() => signer.verify(signer.sign(claims, 10, Date.now() - 20_000)))).toBe('ERR_TOKEN_EXPIRED');
    for (const junk of [undefined, 42, '', '.', 'a.b.c', 'x'.repeat(5000)]) expect(codeOf(() => signer.verify(junk))).toBe('ERR_TOKEN_INVALID');
  });

  it('refuses to sign ids that are unsafe as NATS subject tokens', () => {
    expect(() => signer.sign({ ...claims, room: 'a.b' }, 60)).toThrow();
    expect(() => signer.sign({ ...claims, peer: 'p*' }, 60)).toThrow();
    expect(() => signer.sign({ ...claims, tenant: 'a b' }, 60)).toThrow();
  });

  it('carries the tenant when it names one', () => {
    expect(signer.verify(signer.sign({ ...claims, tenant: 'acme' }, 60))).toMatchObject({ ...claims, tenant: 'acme' });
    expect(signer.verify(signer.sign(claims, 60)).tenant).toBeUndefined();
  });
});
