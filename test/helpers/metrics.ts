/** What a running process's Prometheus exposition declares (for tests of dashboards and alert rules). */

/** The dfd_* metric names a /metrics exposition declares (`# TYPE` lines), series or not. */
export async function exportedMetrics(port: number): Promise<Set<string>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return new Set([...text.matchAll(/^# TYPE (dfd_[a-z0-9_]+) /gm)].map((m) => m[1]!));
}

/** The dfd_* metric names a PromQL text uses, a histogram's `_bucket` series by its metric's name. */
export function metricsInPromql(text: string): Set<string> {
  return new Set((text.match(/dfd_[a-z0-9_]+/g) ?? []).map((m) => m.replace(/_bucket$/, '')));
}
