/**
 * SIP digest authentication for a UAS (RFC 3261 section 22, RFC 2617, RFC 8760 for SHA-256):
 * challenge() writes the WWW-Authenticate value, verify() checks an Authorization value.
 *
 * Nonces are stateless: `<unix seconds>.<random>.<HMAC-SHA256(secret, seconds.random.realm)>`,
 * so any instance sharing `secret` verifies them and nothing is stored. The price: a captured
 * Authorization can be replayed for the same method and URI until its nonce expires (no nonce
 * count is kept), so keep nonceTtlSec short (minutes).
 *
 * Accepts only qop=auth (the challenge always offers it; RFC 2069 answers without qop are
 * refused), algorithm MD5 (also when absent) or SHA-256 when configured; refuses the -sess
 * variants, userhash, auth-int. Every refusal is DfdError('ERR_SIP_AUTH') with details.reason
 * ('missing' | 'malformed' | 'realm' | 'algorithm' | 'nonce' | 'wrong' | 'uri' | 'stale'); an
 * expired (or too far future) nonce with otherwise correct credentials also has
 * details.stale === true: challenge again with stale=true and the client retries without asking
 * the user. Unknown user and wrong password read the same ('wrong'). Comparisons of the MAC and
 * the response are constant-time.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DfdError } from '../../kernel/errors.js';

export type DigestAlgorithm = 'MD5' | 'SHA-256';

export interface SipDigestAuthOptions {
  realm: string;
  /** HMAC key of the nonces (share it between instances that answer the same clients). */
  secret: string;
  /** How long a nonce is good for, seconds. */
  nonceTtlSec: number;
  /** The password of a user, or undefined when there is no such user. */
  users: (username: string) => string | undefined;
  /** Clock, milliseconds since the epoch. */
  now?: () => number;
  /** Algorithms accepted; challenge() offers the first. */
  algorithms?: DigestAlgorithm[];
  /** Longest Authorization value read, characters. */
  maxHeaderChars?: number;
}

export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm?: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  [param: string]: string | undefined;
}

/** Future nonces tolerated (clock skew between instances), seconds. */
const MAX_SKEW_SEC = 60;
const MAC_CHARS = 22; // 16 bytes of HMAC-SHA256, base64url
const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

const authError = (reason: string, detail: string, extra: Record<string, unknown> = {}): DfdError => new DfdError('ERR_SIP_AUTH', detail, { reason, ...extra });

function hashHex(algorithm: DigestAlgorithm, s: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(s, 'utf8')
    .digest('hex');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // Equal lengths for timingSafeEqual; a length mismatch still costs one comparison.
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** `Digest a=b, c="d, e"` -> { a: 'b', c: 'd, e' } (names lowercased); throws ERR_SIP_AUTH 'malformed'. */
export function parseDigestCredentials(value: string): DigestCredentials {
  const m = /^[ \t]*digest[ \t]+/i.exec(value);
  if (!m) throw authError('malformed', 'not Digest credentials');
  const params: Record<string, string> = {};
  let i = m[0].length;
  const s = value;
  const skipWs = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  while (true) {
    skipWs();
    const eq = s.indexOf('=', i);
    if (eq < 0) throw authError('malformed', 'auth-param without "="');
    const name = s.slice(i, eq).trim().toLowerCase();
    if (!TOKEN_RE.test(name)) throw authError('malformed', 'auth-param name is not a token');
    if (Object.hasOwn(params, name)) throw authError('malformed', 'repeated auth-param');
    i = eq + 1;
    skipWs();
    let v = '';
    if (s[i] === '"') {
      i++;
      let closed = false;
      for (; i < s.length; i++) {
        const ch = s[i]!;
        if (ch === '\\' && i + 1 < s.length) v += s[++i];
        else if (ch === '"') {
          closed = true;
          i++;
          break;
        } else v += ch;
      }
      if (!closed) throw authError('malformed', 'unterminated quoted string');
    } else {
      const start = i;
      while (i < s.length && s[i] !== ',' && s[i] !== ' ' && s[i] !== '\t') i++;
      v = s.slice(start, i);
      if (!TOKEN_RE.test(v)) throw authError('malformed', 'auth-param value is not a token');
    }
    Object.defineProperty(params, name, { value: v, enumerable: true, writable: true, configurable: true });
    skipWs();
    if (i >= s.length) break;
    if (s[i] !== ',') throw authError('malformed', 'auth-params must be separated by ","');
    i++;
  }
  for (const k of ['username', 'realm', 'nonce', 'uri', 'response']) if (params[k] === undefined) throw authError('malformed', `no ${k}`);
  return params as DigestCredentials;
}

export class SipDigestAuth {
  readonly realm: string;
  readonly #secret: string;
  readonly #ttlSec: number;
  readonly #users: (username: string) => string | undefined;
  readonly #now: () => number;
  readonly #algorithms: DigestAlgorithm[];
  readonly #maxChars: number;

  constructor(options: SipDigestAuthOptions) {
    if (options.realm === '' || /["\\\r\n]/.test(options.realm)) throw new DfdError('ERR_CONFIG', 'digest realm must be non-empty without quotes, backslashes or line breaks');
    if (options.secret === '') throw new DfdError('ERR_CONFIG', 'digest nonce secret must not be empty');
    if (!(options.nonceTtlSec > 0)) throw new DfdError('ERR_CONFIG', 'digest nonce TTL must be positive');
    this.realm = options.realm;
    this.#secret = options.secret;
    this.#ttlSec = options.nonceTtlSec;
    this.#users = options.users;
    this.#now = options.now ?? Date.now;
    this.#algorithms = options.algorithms && options.algorithms.length > 0 ? [...options.algorithms] : ['MD5'];
    this.#maxChars = options.maxHeaderChars ?? 4096;
  }

  #mac(stamp: string): string {
    return createHmac('sha256', this.#secret).update(`${stamp}.${this.realm}`).digest('base64url').slice(0, MAC_CHARS);
  }

  /** A fresh signed, time-stamped nonce. */
  nonce(): string {
    const stamp = `${Math.floor(this.#now() / 1000)}.${randomBytes(9).toString('base64url')}`;
    return `${stamp}.${this.#mac(stamp)}`;
  }

  /** The WWW-Authenticate (or Proxy-Authenticate) value: a new nonce, qop="auth". */
  challenge(opts: { stale?: boolean; algorithm?: DigestAlgorithm } = {}): string {
    const algorithm = opts.algorithm ?? this.#algorithms[0]!;
    return `Digest realm="${this.realm}", nonce="${this.nonce()}", algorithm=${algorithm}, qop="auth"${opts.stale ? ', stale=true' : ''}`;
  }

  /** One challenge per accepted algorithm, strongest first as RFC 8760 asks (SHA-256, then MD5). */
  challenges(opts: { stale?: boolean } = {}): string[] {
    const order: DigestAlgorithm[] = ['SHA-256', 'MD5'];
    return order.filter((a) => this.#algorithms.includes(a)).map((algorithm) => this.challenge({ ...opts, algorithm }));
  }

  /**
   * Checks the Authorization value of a request with `method`; with `opts.uri`, the digest uri
   * must be that Request-URI. Returns the user; throws ERR_SIP_AUTH (see the header).
   */
  verify(method: string, authorizationHeader: string | undefined, opts: { uri?: string } = {}): { username: string } {
    if (authorizationHeader === undefined || authorizationHeader.trim() === '') throw authError('missing', 'no credentials');
    if (authorizationHeader.length > this.#maxChars) throw authError('malformed', 'credentials too long');
    const c = parseDigestCredentials(authorizationHeader);
    if (c.realm !== this.realm) throw authError('realm', 'credentials for another realm');
    const algorithm = this.#algorithms.find((a) => a.toLowerCase() === (c.algorithm ?? 'MD5').toLowerCase());
    if (!algorithm) throw authError('algorithm', 'digest algorithm not accepted');
    if (c['userhash'] !== undefined && c['userhash'].toLowerCase() !== 'false') throw authError('algorithm', 'userhash is not supported');
    if (c.qop === undefined || c.qop.toLowerCase() !== 'auth') throw authError('malformed', 'qop must be auth');
    if (c.nc === undefined || !/^[0-9a-fA-F]{8}$/.test(c.nc)) throw authError('malformed', 'nc must be 8 hex digits');
    if (c.cnonce === undefined || c.cnonce === '') throw authError('malformed', 'no cnonce');
    if (!/^[0-9a-fA-F]+$/.test(c.response)) throw authError('malformed', 'response is not hex');

    const parts = c.nonce.split('.');
    const [ts, rand, mac] = parts;
    if (parts.length !== 3 || !/^\d{1,12}$/.test(ts ?? '') || !rand || !mac || !safeEqual(mac, this.#mac(`${ts}.${rand}`))) throw authError('nonce', 'nonce was not issued here');

    const password = this.#users(c.username);
    // An unknown user costs the same work as a wrong password.
    const ha1 = hashHex(algorithm, `${c.username}:${this.realm}:${password ?? randomBytes(16).toString('hex')}`);
    const ha2 = hashHex(algorithm, `${method}:${c.uri}`);
    const expected = hashHex(algorithm, `${ha1}:${c.nonce}:${c.nc}:${c.cnonce}:${c.qop}:${ha2}`);
    if (!safeEqual(expected, c.response.toLowerCase()) || password === undefined) throw authError('wrong', 'wrong credentials');

    const age = Math.floor(this.#now() / 1000) - Number(ts);
    if (age > this.#ttlSec || age < -MAX_SKEW_SEC) throw authError('stale', 'nonce expired', { stale: true });
    if (opts.uri !== undefined && c.uri !== opts.uri) throw authError('uri', 'digest uri is not the Request-URI');
    return { username: c.username };
  }
}
