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
