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
import { createHmac, randomBytes } from 'node:crypto';
import { DfdError } from '../kernel/errors.js';
import { TenantKeySet, parseTenantKeys } from '../kernel/TenantKeys.js';

export { MIN_KEY_CHARS } from '../kernel/TenantKeys.js';

export interface IngestKeysOptions {
  /** `tenant=key` entries (DFD_INGEST_KEYS). */
  keys: readonly string[];
  /** Derive a demo key when no key is configured. */
  demo: boolean;
  /** Secret the demo key is derived from (DFD_TOKEN_SECRET); empty: a random one. */
  secret: string;
}

export const DEMO_TENANT = 'demo';

export class IngestKeys {
  readonly #keys: TenantKeySet;
  /** The keys themselves, by tenant: SIP digest authentication needs the shared secret (HA1), not a hash of it. */
  readonly #plain = new Map<string, string>();
  /** The generated demo key, when there is one (printed by `npm start`). */
  readonly demoKey: string | undefined;

  constructor(options: Partial<IngestKeysOptions> = {}) {
    const o: IngestKeysOptions = { keys: [], demo: false, secret: '', ...options };
    const parsed = parseTenantKeys(o.keys, 'DFD_INGEST_KEYS');
    this.#keys = new TenantKeySet(parsed);
    for (const { tenant, key } of parsed) this.#plain.set(tenant, key);
    if (this.#keys.size === 0 && o.demo) {
      const secret = o.secret ? Buffer.from(o.secret, 'utf8') : randomBytes(32);
      this.demoKey = createHmac('sha256', secret).update('dfd-ingest-demo-key').digest('base64url').slice(0, 32);
      this.#keys.add(DEMO_TENANT, this.demoKey);
      this.#plain.set(DEMO_TENANT, this.demoKey);
    }
  }

  /** The key of a tenant (SIP digest: user name = tenant, password = key), or undefined. */
  keyOf(tenant: string): string | undefined {
    return this.#plain.get(tenant);
  }

  /** Whether any key can be accepted (else every stream is refused). */
  get enabled(): boolean {
    return this.#keys.size > 0;
  }

  /** The tenant whose key this is; throws ERR_INGEST_AUTH for a missing or wrong key. */
  verify(key: unknown): { tenant: string } {
    const tenant = this.#keys.match(key);
    if (tenant === undefined) throw new DfdError('ERR_INGEST_AUTH');
    return { tenant };
  }
}
