/**
 * The JSON value of a JetStream KV entry, or undefined for a deleted or purged key or a value that
 * is not JSON. What it holds is still unchecked: every store validates it (NATS is a boundary).
 */
import type { KvEntry } from 'nats';

export function kvJson(e: KvEntry | null | undefined): unknown {
  if (!e || e.operation !== 'PUT') return undefined;
  try {
    return e.json();
  } catch {
    return undefined;
  }
}
