/** What a running process's Prometheus exposition declares (for tests of dashboards and alert rules). */

/** The dfd_* metric names a /metrics exposition declares (`# TYPE` lines), series or not. */
export async function exportedMetrics(port: number): Promise<Set<string>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return new Set([...text.matchAll(/^# TYPE (dfd_[a-z0-9_]+) /gm)].map((m) => m[1]!));
}

/**
 * Of `names`, those a process's /metrics still does not declare after waiting up to `timeoutMs`
 * (media and inference worker threads report their metrics to the main thread about once a second).
 */
export async function metricsNotExported(port: number, names: Iterable<string>, timeoutMs = 30_000): Promise<string[]> {
  let missing = [...names];
  for (const deadline = Date.now() + timeoutMs; missing.length > 0 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    const exported = await exportedMetrics(port);
    missing = missing.filter((m) => !exported.has(m));
  }
  return missing;
}

/** The dfd_* metric names a PromQL text uses, a histogram's `_bucket` series by its metric's name. */
export function metricsInPromql(text: string): Set<string> {
  return new Set((text.match(/dfd_[a-z0-9_]+/g) ?? []).map((m) => m.replace(/_bucket$/, '')));
}
