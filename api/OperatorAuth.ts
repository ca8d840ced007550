/**
 * Operator sign-in for the dashboard and the REST API. One operator account from the
 * configuration (a generated password is printed at start-up when none is set).
 * Sessions are HMAC-signed tokens (same format as join tokens, role "operator"), sent as
 * an HttpOnly cookie or as `Authorization: Bearer <token>`.
 *
 * Tenant API keys (DFD_API_KEYS, `tenant=key`) are for a tenant's own systems (a CRM, a SOC
 * pipeline): `Authorization: Bearer <key>` acts as an operator of that tenant only. Its caller
 * sees and acts on that tenant's rooms, calls and calibration, and nothing service-wide
 * (webhooks, declared voices, the all-rooms live stream): `Caller.tenant` says which, and
 * `sees` / `assertServiceWide` are the checks the routes make. A signed-in operator sees every tenant.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TokenSigner, type TokenPayload } from '../sfu/tokens.js';
import { DfdError } from '../kernel/errors.js';
import { SignInLockout, type SignInLockoutOptions } from './SignInLockout.js';
import { TenantKeySet, parseTenantKeys } from '../kernel/TenantKeys.js';

export const SESSION_COOKIE = 'dfd_session';

export interface OperatorAuthOptions {
  username: string;
  /** Empty: a random password is generated (see `generatedPassword`). */
  password: string;
  sessionTtlSec: number;
  /** Secret for session tokens; empty: random per process. */
  secret: string;
  /** Brute-force lockout (api/SignInLockout.ts). */
  lockout: Partial<SignInLockoutOptions>;
  /** Tenant API keys, `tenant=key` entries (DFD_API_KEYS). */
  apiKeys: readonly string[];
}

/** Who is calling: an operator's name, and the one tenant an API key is limited to (undefined: every tenant). */
export interface Caller {
  name: string;
  tenant: string | undefined;
}

/** Whether the caller may see something of `tenant`. */
export function sees(caller: Caller, tenant: string | undefined): boolean {
  return caller.tenant === undefined || caller.tenant === tenant;
}

/** Throws ERR_FORBIDDEN for a caller limited to one tenant (a service-wide setting or view). */
export function assertServiceWide(caller: Caller): void {
  if (caller.tenant !== undefined) throw new DfdError('ERR_FORBIDDEN', 'a tenant API key cannot use a service-wide route');
}

export const defaultOperatorAuthOptions: OperatorAuthOptions = { username: 'operator', password: '', sessionTtlSec: 8 * 3600, secret: '', lockout: {}, apiKeys: [] };

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export class OperatorAuth {
  readonly options: OperatorAuthOptions;
  readonly generatedPassword: string | undefined;
  readonly #password: string;
  readonly #signer: TokenSigner;
  readonly lockout: SignInLockout;
  readonly #apiKeys: TenantKeySet;

  constructor(options: Partial<OperatorAuthOptions> = {}) {
    this.options = { ...defaultOperatorAuthOptions, ...options };
    if (this.options.password) this.#password = this.options.password;
    else {
      this.generatedPassword = randomBytes(9).toString('base64url');
      this.#password = this.generatedPassword;
    }
    // Session tokens use their own key so a join token can never pass as a session.
    this.#signer = new TokenSigner(this.options.secret ? `session:${this.options.secret}` : undefined);
    this.lockout = new SignInLockout(this.options.lockout);
    this.#apiKeys = new TenantKeySet(parseTenantKeys(this.options.apiKeys, 'DFD_API_KEYS'));
  }

  /**
   * Checks credentials in constant time; returns a session token. `client` is the client's
   * address: a locked address or user name is refused with ERR_LOCKED_OUT before the
   * password is compared, and each failure counts towards a lockout (api/SignInLockout.ts).
   */
  login(username: unknown, password: unknown, client = 'unknown'): { token: string; expiresInSec: number } {
    if (typeof username !== 'string' || typeof password !== 'string' || username.length > 128 || password.length > 256) {
      throw new DfdError('ERR_BAD_REQUEST', 'username and password are required strings');
    }
    this.lockout.check(client, username);
    const okUser = timingSafeEqual(digest(username), digest(this.options.username));
    const okPass = timingSafeEqual(digest(password), digest(this.#password));
    if (!(okUser && okPass)) {
      this.lockout.failed(client, username);
      throw new DfdError('ERR_TOKEN_INVALID', 'wrong username or password');
    }
    this.lockout.succeeded(client, username);
    const safeName = username.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'operator';
    const token = this.#signer.sign({ room: 'operators', peer: safeName, name: username.slice(0, 80), role: 'operator' }, this.options.sessionTtlSec);
    return { token, expiresInSec: this.options.sessionTtlSec };
  }

  /**
   * The operator behind a request, or throws ERR_TOKEN_INVALID / ERR_TOKEN_EXPIRED / ERR_FORBIDDEN.
   * A tenant API key gives claims with that `tenant` (a session has none: every tenant).
   */
  authenticate(req: IncomingMessage): TokenPayload {
    const token = OperatorAuth.tokenFrom(req);
    if (!token) throw new DfdError('ERR_TOKEN_INVALID', 'sign in first');
    const tenant = req.headers.authorization?.startsWith('Bearer ') ? this.#apiKeys.match(token) : undefined;
    if (tenant !== undefined) return { room: 'operators', peer: `api-key-${tenant}`, name: `api-key:${tenant}`, role: 'operator', tenant, exp: Math.floor(Date.now() / 1000) + 60 };
    const claims = this.#signer.verify(token);
    if (claims.role !== 'operator') throw new DfdError('ERR_FORBIDDEN');
    return claims;
  }

  /** The caller behind a request (authenticate's name and tenant). */
  caller(req: IncomingMessage): Caller {
    const c = this.authenticate(req);
    return { name: c.name, tenant: c.tenant };
  }

  /** The bearer token or session cookie of a request; throws ERR_TOKEN_INVALID for a cookie that cannot be decoded. */
  static tokenFrom(req: IncomingMessage): string | undefined {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
    const cookie = req.headers.cookie;
    if (!cookie) return undefined;
    for (const part of cookie.split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k !== SESSION_COOKIE) continue;
      // A malformed escape (e.g. "%zz") is a bad credential, not a server error.
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        throw new DfdError('ERR_TOKEN_INVALID', 'session cookie is not percent-encoded');
      }
    }
    return undefined;
  }

  cookie(token: string): string {
    return `${SESSION_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${this.options.sessionTtlSec}`;
  }
}
