/**
 * Canonical JSON for hashing audit records.
 *
 * Rules (documented in docs/events.md):
 * - objects: keys sorted by UTF-16 code unit order (JavaScript's default sort), no whitespace;
 * - properties whose value is `undefined` are omitted (as JSON.stringify does);
 * - arrays keep their order; `undefined` inside arrays is not allowed;
 * - strings are escaped exactly as JSON.stringify escapes them;
 * - numbers must be finite and are written as JSON.stringify writes them (shortest round-trip form,
 *   `-0` becomes `0`);
 * - only null, booleans, finite numbers, strings, arrays and plain objects are allowed.
 * Anything else throws DfdError('ERR_BAD_REQUEST').
 */
import { DfdError } from '../kernel/errors.js';

export function canonicalJson(value: unknown): string {
  return write(value);
}

function fail(what: string): never {
  throw new DfdError('ERR_BAD_REQUEST', `${what} in canonical JSON`);
}

function write(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) fail('non-finite number');
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          if (x === undefined) fail('undefined array item');
          out += (i > 0 ? ',' : '') + write(x);
        }
        return out + ']';
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) fail('non-plain object');
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = '{';
      let first = true;
      for (const k of keys) {
        const x = obj[k];
        if (x === undefined) continue;
        out += (first ? '' : ',') + JSON.stringify(k) + ':' + write(x);
        first = false;
      }
      return out + '}';
    }
    default:
      return fail(`unsupported value (${typeof v})`);
  }
}
