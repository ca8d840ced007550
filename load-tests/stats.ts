/** Small numeric helpers shared by the benchmark parts (percentiles, line fit, CPU deltas). */
import fs from 'node:fs';
import os from 'node:os';

/** Nearest-rank percentile (q in 0..1) of an unsorted list; NaN for an empty list. */
export function percentile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(xs: readonly number[], digits = 1): Summary {
  const r = (v: number): number => (Number.isFinite(v) ? +v.toFixed(digits) : v);
  const mean = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
  return { n: xs.length, p50: r(percentile(xs, 0.5)), p95: r(percentile(xs, 0.95)), p99: r(percentile(xs, 0.99)), max: r(xs.length ? Math.max(...xs) : Number.NaN), mean: r(mean) };
}

/** Least-squares line y = a + b x; r2 is the coefficient of determination. */
export function linearFit(xs: readonly number[], ys: readonly number[]): { intercept: number; slope: number; r2: number } {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return { intercept: ys[0] ?? Number.NaN, slope: 0, r2: 0 };
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const r2 = sxx === 0 || syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { intercept: my - slope * mx, slope, r2 };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU ms (user + system) of this process, worker threads included. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** RSS of another process in MB from /proc (Linux); NaN when unreadable. */
export function procRssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** 1-minute load average, rounded. */
export function loadAvg1(): number {
  return +os.loadavg()[0]!.toFixed(2);
}

/** How many times each key occurs. */
export function countBy(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}
