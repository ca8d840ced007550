/**
 * One prom-client registry for the whole service. Modules create their metrics here
 * through `metric()` helpers so a test can build a fresh registry.
 */
import client from 'prom-client';

export const registry = new client.Registry();
let defaultsCollected = false;

export function collectDefaultMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  client.collectDefaultMetrics({ register: registry, prefix: 'dfd_' });
}

function existing<T>(name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

export function counter<L extends string = string>(cfg: { name: string; help: string; labelNames?: readonly L[] }): client.Counter<L> {
  return existing<client.Counter<L>>(cfg.name) ?? new client.Counter<L>({ ...cfg, registers: [registry] });
}

export function gauge<L extends string = string>(cfg: {
  name: string;
  help: string;
  labelNames?: readonly L[];
  collect?: (this: client.Gauge<L>) => void | Promise<void>;
}): client.Gauge<L> {
  return existing<client.Gauge<L>>(cfg.name) ?? new client.Gauge<L>({ ...cfg, registers: [registry] });
}

export function histogram<L extends string = string>(cfg: {
  name: string;
  help: string;
  labelNames?: readonly L[];
  buckets?: number[];
}): client.Histogram<L> {
  return existing<client.Histogram<L>>(cfg.name) ?? new client.Histogram<L>({ ...cfg, registers: [registry] });
}

/** Latency buckets in seconds, 1 ms .. 10 s. */
export const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A metric's values summed per value of one label ({} if absent). Main-thread registry. */
export async function metricByLabel(name: string, label: string): Promise<Record<string, number>> {
  const m = registry.getSingleMetric(name);
  const out: Record<string, number> = {};
  if (!m) return out;
  for (const v of (await m.get()).values) {
    const k = String(v.labels[label] ?? '');
    out[k] = (out[k] ?? 0) + v.value;
  }
  return out;
}

/** A histogram's observation count and sum per value of one label (key '' without `label`); {} if absent. Main-thread registry. */
export async function histogramTotals(name: string, label?: string): Promise<Record<string, { count: number; sum: number }>> {
  const m = registry.getSingleMetric(name);
  const out: Record<string, { count: number; sum: number }> = {};
  if (!m) return out;
  for (const v of (await m.get()).values as client.MetricValueWithName<string>[]) {
    const stat = v.metricName === `${name}_count` ? 'count' : v.metricName === `${name}_sum` ? 'sum' : undefined;
    if (!stat) continue;
    const t = (out[label ? String(v.labels[label] ?? '') : ''] ??= { count: 0, sum: 0 });
    t[stat] += v.value;
  }
  return out;
}

/**
 * Metrics recorded inside worker threads (each thread has its own prom-client registry).
 * Workers post `registry.getMetricsAsJSON()` periodically; /metrics sums them with the
 * main thread's (counters and histograms add up; per-thread gauges add up too).
 */
const threadMetrics = new Map<string, client.MetricObjectWithValues<client.MetricValue<string>>[]>();

export function setThreadMetrics(threadId: string, metrics: client.MetricObjectWithValues<client.MetricValue<string>>[]): void {
  threadMetrics.set(threadId, metrics);
}

/** The Prometheus text exposition of this process, worker threads included. */
export async function exposition(): Promise<{ contentType: string; text: string }> {
  if (threadMetrics.size === 0) return { contentType: registry.contentType, text: await registry.metrics() };
  const all = [await registry.getMetricsAsJSON(), ...threadMetrics.values()];
  const merged = client.AggregatorRegistry.aggregate(all as Parameters<typeof client.AggregatorRegistry.aggregate>[0]);
  return { contentType: registry.contentType, text: await merged.metrics() };
}
