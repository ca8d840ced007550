/**
 * Tenants: the organisation a room, a call, a join token, an ingest key and every event belong
 * to (a contact center, a business unit). One service serves many; calibration learned from one
 * tenant's operator decisions applies to that tenant's calls only (decision/calibration/).
 * A tenant id is a subject- and URL-safe token.
 */
import { DfdError } from './errors.js';

export const TENANT_RE = /^[A-Za-z0-9_-]{1,32}$/;
export const TENANT_PATTERN = '^[A-Za-z0-9_-]{1,32}$';

/** The tenant of rooms and tokens that name none (DFD_DEFAULT_TENANT overrides it). */
export const DEFAULT_TENANT = 'default';

/** Throws ERR_BAD_REQUEST unless `value` is a tenant id. */
export function assertTenant(value: unknown, field = 'tenant'): asserts value is string {
  if (typeof value !== 'string' || !TENANT_RE.test(value)) throw new DfdError('ERR_BAD_REQUEST', `${field} must match [A-Za-z0-9_-]{1,32}`, { field });
}
