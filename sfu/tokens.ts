/**
 * Join tokens: `base64url(JSON payload) + "." + base64url(HMAC-SHA256(payload))`.
 * A token names the room, the peer, the display name, the role, the tenant (optional) and an expiry.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DfdError } from '../kernel/errors.js';
import { TENANT_PATTERN } from '../kernel/tenant.js';

export const IdPattern = '^[A-Za-z0-9_-]{1,64}$';

export const TokenPayload = Type.Object(
  {
    room: Type.String({ pattern: IdPattern }),
    peer: Type.String({ pattern: IdPattern }),
    name: Type.String({ minLength: 1, maxLength: 80 }),
    role: Type.Union([Type.Literal('participant'), Type.Literal('observer'), Type.Literal('operator')]),
    /** The tenant whose room this is (kernel/tenant.ts); absent: the service's default tenant. */
    tenant: Type.Optional(Type.String({ pattern: TENANT_PATTERN })),
    /** Expiry, seconds since the epoch. */
    exp: Type.Integer(),
  },
  { additionalProperties: false },
);
export type TokenPayload = Static<typeof TokenPayload>;
const checkPayload = TypeCompiler.Compile(TokenPayload);

export class TokenSigner {
  readonly #secret: Buffer;

  constructor(secret?: string) {
    this.#secret = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  sign(payload: Omit<TokenPayload, 'exp'>, ttlSec: number, nowMs = Date.now()): string {
    const full: TokenPayload = { ...payload, exp: Math.floor(nowMs / 1000) + ttlSec };
    if (!checkPayload.Check(full)) throw new DfdError('ERR_BAD_REQUEST', 'token payload', { field: [...checkPayload.Errors(full)][0]?.path });
    const body = Buffer.from(JSON.stringify(full)).toString('base64url');
    return `${body}.${this.#mac(body)}`;
  }

  /** Returns the payload or throws ERR_TOKEN_INVALID / ERR_TOKEN_EXPIRED. */
  verify(token: unknown, nowMs = Date.now()): TokenPayload {
    if (typeof token !== 'string' || token.length > 2048) throw new DfdError('ERR_TOKEN_INVALID');
    const dot = token.indexOf('.');
    if (dot <= 0) throw new DfdError('ERR_TOKEN_INVALID');
    const body = token.slice(0, dot);
    // Compare the signature as text: base64url decoding skips stray characters ("=", "!", spaces,
    // a second "."), so decoded bytes would let other spellings of one token verify.
    const sig = Buffer.from(token.slice(dot + 1), 'utf8');
    const want = Buffer.from(this.#mac(body), 'utf8');
    if (sig.length !== want.length || !timingSafeEqual(sig, want)) throw new DfdError('ERR_TOKEN_INVALID');
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw new DfdError('ERR_TOKEN_INVALID');
    }
    if (!checkPayload.Check(payload)) throw new DfdError('ERR_TOKEN_INVALID');
    if (payload.exp * 1000 <= nowMs) throw new DfdError('ERR_TOKEN_EXPIRED');
    return payload;
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#secret).update(body).digest('base64url');
  }
}
