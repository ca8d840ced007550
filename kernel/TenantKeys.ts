/**
 * Secret keys that each belong to one tenant, from `tenant=key` settings (DFD_INGEST_KEYS for the
 * phone ingest endpoints, DFD_API_KEYS for the REST API). A key is compared as a SHA-256 digest in
 * constant time against every entry, so the time taken does not say which tenant matched; keys
 * never reach logs or events.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { DfdError } from './errors.js';
import { TENANT_RE } from './tenant.js';

/** Shortest key accepted in the configuration. */
export const MIN_KEY_CHARS = 16;

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** `tenant=key` entries, checked (ERR_CONFIG naming `setting` for a bad one). */
export function parseTenantKeys(entries: readonly string[], setting: string): { tenant: string; key: string }[] {
  return entries.map((entry) => {
    const eq = entry.indexOf('=');
    const tenant = eq > 0 ? entry.slice(0, eq).trim() : '';
    const key = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (!TENANT_RE.test(tenant)) throw new DfdError('ERR_CONFIG', `${setting} entries are tenant=key, tenant matching [A-Za-z0-9_-]{1,32}`);
    if (key.length < MIN_KEY_CHARS) throw new DfdError('ERR_CONFIG', `${setting}: the key of tenant ${tenant} is shorter than ${MIN_KEY_CHARS} characters`);
    return { tenant, key };
  });
}

export class TenantKeySet {
  readonly #keys: { tenant: string; digest: Buffer }[] = [];

  constructor(keys: readonly { tenant: string; key: string }[] = []) {
    for (const k of keys) this.add(k.tenant, k.key);
  }

  add(tenant: string, key: string): void {
    this.#keys.push({ tenant, digest: digest(key) });
  }

  get size(): number {
    return this.#keys.length;
  }

  /** The tenant whose key this is, or undefined (every entry compared, in constant time each). */
  match(key: unknown): string | undefined {
    if (typeof key !== 'string' || key.length === 0 || key.length > 256) return undefined;
    const d = digest(key);
    let tenant: string | undefined;
    for (const k of this.#keys) if (timingSafeEqual(k.digest, d)) tenant ??= k.tenant;
    return tenant;
  }
}
