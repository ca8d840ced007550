/**
 * A Map used as a bounded least-recently-used table: `lruSet` makes `key` the most recent
 * entry (Maps iterate in insertion order) and, when a new key would exceed `maxKeys`, forgets
 * the least recently used one. Memory stays bounded whatever keys a client sends.
 */
export function lruSet<K, V>(map: Map<K, V>, key: K, value: V, maxKeys: number): void {
  if (map.has(key)) map.delete(key);
  else if (map.size >= maxKeys) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
}
