/**
 * Per-tenant keys for the ingest endpoints. A contact-center platform presents its key
 * before any audio is accepted (Twilio: a <Parameter name="key"> of the <Stream>, which
 * arrives in `start.customParameters`, or `?key=` on the URL for clients that can set one).
 *
 * Keys come from DFD_INGEST_KEYS as `tenant=key` pairs. With none configured and demo
 * tokens on (DFD_DEMO_TOKENS), one demo key for tenant "demo" is derived from the token
 * secret (stable across restarts when DFD_TOKEN_SECRET is set, random otherwise) and
 * printed at start-up. With neither, every stream is refused.
 *
 * Keys are compared as SHA-256 digests in constant time; they never reach logs or events.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { TENANT_RE } from '../kernel/tenant.js';
import { DfdError } from '../kernel/errors.js';

export interface IngestKeysOptions {
  /** `tenant=key` entries (DFD_INGEST_KEYS). */
  keys: readonly string[];
  /** Derive a demo key when no key is configured. */
  demo: boolean;
  /** Secret the demo key is derived from (DFD_TOKEN_SECRET); empty: a random one. */
  secret: string;
}

/** Shortest key accepted in the configuration. */
export const MIN_KEY_CHARS = 16;
export const DEMO_TENANT = 'demo';

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

export class IngestKeys {
  readonly #keys: { tenant: string; digest: Buffer }[] = [];
  /** The keys themselves, by tenant: SIP digest authentication needs the shared secret (HA1), not a hash of it. */
  readonly #plain = new Map<string, string>();
  /** The generated demo key, when there is one (printed by `npm start`). */
  readonly demoKey: string | undefined;

  constructor(options: Partial<IngestKeysOptions> = {}) {
    const o: IngestKeysOptions = { keys: [], demo: false, secret: '', ...options };
    for (const entry of o.keys) {
      const eq = entry.indexOf('=');
      const tenant = eq > 0 ? entry.slice(0, eq).trim() : '';
      const key = eq > 0 ? entry.slice(eq + 1).trim() : '';
      if (!TENANT_RE.test(tenant)) throw new DfdError('ERR_CONFIG', 'DFD_INGEST_KEYS entries are tenant=key, tenant matching [A-Za-z0-9_-]{1,32}');
      if (key.length < MIN_KEY_CHARS) throw new DfdError('ERR_CONFIG', `DFD_INGEST_KEYS: the key of tenant ${tenant} is shorter than ${MIN_KEY_CHARS} characters`);
      this.#keys.push({ tenant, digest: digest(key) });
      this.#plain.set(tenant, key);
    }
    if (this.#keys.length === 0 && o.demo) {
      const secret = o.secret ? Buffer.from(o.secret, 'utf8') : randomBytes(32);
      this.demoKey = createHmac('sha256', secret).update('dfd-ingest-demo-key').digest('base64url').slice(0, 32);
      this.#keys.push({ tenant: DEMO_TENANT, digest: digest(this.demoKey) });
      this.#plain.set(DEMO_TENANT, this.demoKey);
    }
  }

  /** The key of a tenant (SIP digest: user name = tenant, password = key), or undefined. */
  keyOf(tenant: string): string | undefined {
    return this.#plain.get(tenant);
  }

  /** Whether any key can be accepted (else every stream is refused). */
  get enabled(): boolean {
    return this.#keys.length > 0;
  }

  /** The tenant whose key this is; throws ERR_INGEST_AUTH for a missing or wrong key. */
  verify(key: unknown): { tenant: string } {
    if (typeof key !== 'string' || key.length === 0 || key.length > 256) throw new DfdError('ERR_INGEST_AUTH');
    const d = digest(key);
    let tenant: string | undefined;
    // Every entry is compared, so the time taken does not say which tenant matched.
    for (const k of this.#keys) if (timingSafeEqual(k.digest, d)) tenant ??= k.tenant;
    if (tenant === undefined) throw new DfdError('ERR_INGEST_AUTH');
    return { tenant };
  }
}
