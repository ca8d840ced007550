/**
 * Frame levels: RMS in dBFS over short frames, plus clipping. Full scale is 1.0
 * (a full-scale sine reads -3 dBFS).
 */

/** Floor returned for digital silence, so contours stay finite. */
export const SILENCE_DBFS = -120;

export function rmsDbfs(samples: Float32Array, start = 0, end = samples.length): number {
  let sum = 0;
  const e = Math.min(end, samples.length);
  const s = Math.max(0, start);
  if (e <= s) return SILENCE_DBFS;
  for (let i = s; i < e; i++) {
    const v = samples[i] ?? 0;
    sum += v * v;
  }
  const ms = sum / (e - s);
  return ms <= 1e-12 ? SILENCE_DBFS : Math.max(SILENCE_DBFS, 10 * Math.log10(ms));
}

/** RMS dBFS for each frame of `frameLength` samples every `hop` samples. */
export function frameLevels(samples: Float32Array, frameLength: number, hop: number): Float32Array {
  const n = samples.length < frameLength ? 0 : Math.floor((samples.length - frameLength) / hop) + 1;
  const out = new Float32Array(n);
  for (let f = 0; f < n; f++) out[f] = rmsDbfs(samples, f * hop, f * hop + frameLength);
  return out;
}

/** Fraction of samples at or above `threshold` in magnitude (0.999 ~ hard clipping). */
export function clippedFraction(samples: Float32Array, threshold = 0.999): number {
  if (samples.length === 0) return 0;
  let c = 0;
  for (let i = 0; i < samples.length; i++) if (Math.abs(samples[i] ?? 0) >= threshold) c++;
  return c / samples.length;
}

/** Linear-interpolated percentile (p in 0..1) of finite values; NaN when none. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const v: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x !== undefined && Number.isFinite(x)) v.push(x);
  }
  if (v.length === 0) return Number.NaN;
  v.sort((a, b) => a - b);
  const pos = Math.min(1, Math.max(0, p)) * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(v.length - 1, lo + 1);
  const a = v[lo] ?? Number.NaN;
  const b = v[hi] ?? a;
  return a + (b - a) * (pos - lo);
}
