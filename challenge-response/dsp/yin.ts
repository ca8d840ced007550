/**
 * YIN fundamental-frequency tracker (de Cheveigné & Kawahara 2002): difference function,
 * cumulative-mean-normalised difference, absolute threshold on aperiodicity, parabolic
 * interpolation. Returns f0 per frame, NaN where the frame is unvoiced or silent.
 *
 * Cost: the difference function d(tau) = e(start) + e(start + tau) - 2 r(tau) needs the
 * windowed autocorrelation r(tau) for every lag, one multiply-add per lag and window sample.
 * Frames overlap (25 ms windows every 10 ms), so r is built from blocks of gcd(hop, window)
 * samples (5 ms at the defaults): each block's lag products are computed once and shared by
 * the frames that contain it (2.5 times fewer multiply-adds), four lags at a time (independent
 * sums, so the CPU is not waiting on one chain of additions). Only the summation order
 * differs from the direct form (testing/yinReference.ts); yin.test.ts bounds the difference.
 */
import { rmsDbfs } from './level.js';

export interface YinOptions {
  sampleRate: number;
  /** Lowest and highest f0 searched, Hz. */
  minF0: number;
  maxF0: number;
  /** Integration window in samples (25 ms at 16 kHz). */
  window: number;
  /** Hop between frames in samples (10 ms at 16 kHz). */
  hop: number;
  /** Aperiodicity threshold: the first dip of d'(tau) below it is taken as the period. */
  threshold: number;
  /** A frame whose best aperiodicity is above this is unvoiced. */
  maxAperiodicity: number;
  /** Frames quieter than this are unvoiced without analysis. */
  silenceDbfs: number;
}

export const defaultYinOptions: YinOptions = {
  sampleRate: 16000,
  minF0: 60,
  maxF0: 1000,
  window: 400,
  hop: 160,
  threshold: 0.15,
  maxAperiodicity: 0.35,
  silenceDbfs: -60,
};

export interface PitchTrack {
  /** f0 in Hz per frame, NaN when unvoiced. */
  f0: Float32Array;
  /** Best cumulative-mean-normalised difference per frame (0 periodic .. ~1 noise). */
  aperiodicity: Float32Array;
  /** Seconds between frames. */
  hopSec: number;
}

/** Blocks shorter than this are not worth sharing: the frame sums then run directly. */
const MIN_BLOCK = 16;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * out[tau] = sum_{j = from}^{to - 1} x[j] x[j + tau] for tau = 1 .. lags (out[0] untouched).
 * Four lags per pass over the samples, the four x[j + tau ..] values carried in locals.
 */
function lagProducts(x: Float64Array, from: number, to: number, lags: number, out: Float64Array): void {
  let tau = 1;
  for (; tau + 3 <= lags; tau += 4) {
    let r0 = 0;
    let r1 = 0;
    let r2 = 0;
    let r3 = 0;
    let k = from + tau;
    let a = x[k] as number;
    let b = x[k + 1] as number;
    let c = x[k + 2] as number;
    for (let j = from; j < to; j++, k++) {
      const xj = x[j] as number;
      const d = x[k + 3] as number;
      r0 += xj * a;
      r1 += xj * b;
      r2 += xj * c;
      r3 += xj * d;
      a = b;
      b = c;
      c = d;
    }
    out[tau] = r0;
    out[tau + 1] = r1;
    out[tau + 2] = r2;
    out[tau + 3] = r3;
  }
  for (; tau <= lags; tau++) {
    let r = 0;
    for (let j = from, k = from + tau; j < to; j++, k++) r += (x[j] as number) * (x[k] as number);
    out[tau] = r;
  }
}

export function yinTrack(samples: Float32Array, options: Partial<YinOptions> = {}): PitchTrack {
  const o = { ...defaultYinOptions, ...options };
  const maxLag = Math.min(Math.ceil(o.sampleRate / o.minF0), Math.floor(samples.length / 2));
  const minLag = Math.max(2, Math.floor(o.sampleRate / o.maxF0));
  const span = o.window + maxLag + 1;
  const frames = samples.length < span ? 0 : Math.floor((samples.length - span) / o.hop) + 1;
  const f0 = new Float32Array(frames).fill(Number.NaN);
  const ap = new Float32Array(frames).fill(1);
  if (frames === 0) return { f0, aperiodicity: ap, hopSec: o.hop / o.sampleRate };
  const lags = maxLag + 1;
  const r = new Float64Array(lags + 1);
  const d = new Float64Array(maxLag + 2);
  const dn = new Float64Array(maxLag + 2);
  // Window energies from a prefix sum of squares.
  const x = Float64Array.from(samples);
  const sq = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) sq[i + 1] = (sq[i] as number) + (x[i] as number) * (x[i] as number);
  // Shared blocks: frame f covers blocks [f hop / g, f hop / g + window / g); a ring of
  // window / g rows holds the blocks of the current frame (frames only move forward).
  const g = gcd(o.hop, o.window);
  const perFrame = o.window / g;
  const blocks = g >= MIN_BLOCK && perFrame > 1;
  const rows = blocks ? Array.from({ length: perFrame }, () => new Float64Array(lags + 1)) : [];
  const rowBlock = new Float64Array(blocks ? perFrame : 0).fill(-1);
  for (let f = 0; f < frames; f++) {
    const start = f * o.hop;
    if (rmsDbfs(samples, start, start + o.window + maxLag) < o.silenceDbfs) continue;
    if (blocks) {
      const b0 = start / g;
      r.fill(0);
      for (let b = b0; b < b0 + perFrame; b++) {
        const row = rows[b % perFrame] as Float64Array;
        if (rowBlock[b % perFrame] !== b) {
          lagProducts(x, b * g, b * g + g, lags, row);
          rowBlock[b % perFrame] = b;
        }
        for (let tau = 1; tau <= lags; tau++) r[tau] = (r[tau] as number) + (row[tau] as number);
      }
    } else {
      lagProducts(x, start, start + o.window, lags, r);
    }
    const e0 = (sq[start + o.window] as number) - (sq[start] as number);
    for (let tau = 1; tau <= lags; tau++) {
      const et = (sq[start + tau + o.window] as number) - (sq[start + tau] as number);
      d[tau] = Math.max(0, e0 + et - 2 * (r[tau] as number));
    }
    pitchFromDifference(d, dn, minLag, maxLag, o, f, f0, ap);
  }
  return { f0, aperiodicity: ap, hopSec: o.hop / o.sampleRate };
}

/**
 * The steps of YIN after the difference function, for frame `f`: d(1 .. maxLag + 1) into the
 * cumulative-mean-normalised difference `dn`, the first dip under the threshold (else the
 * global minimum), its aperiodicity into `ap[f]` and, when voiced, the parabolically
 * interpolated f0 into `f0[f]`. Shared with the direct reference (testing/yinReference.ts),
 * which differs only in how it computes d.
 */
export function pitchFromDifference(d: Float64Array, dn: Float64Array, minLag: number, maxLag: number, o: YinOptions, f: number, f0: Float32Array, ap: Float32Array): void {
  // Cumulative mean normalised difference d'(tau).
  dn[0] = 1;
  let running = 0;
  for (let tau = 1; tau <= maxLag + 1; tau++) {
    running += d[tau] ?? 0;
    dn[tau] = running > 0 ? ((d[tau] ?? 0) * tau) / running : 1;
  }
  // Absolute threshold: first dip below threshold, then walk to its local minimum.
  let best = -1;
  for (let tau = minLag; tau <= maxLag; tau++) {
    if ((dn[tau] ?? 1) < o.threshold) {
      while (tau + 1 <= maxLag && (dn[tau + 1] ?? 1) < (dn[tau] ?? 1)) tau++;
      best = tau;
      break;
    }
  }
  if (best < 0) {
    // No dip under the threshold: take the global minimum, voiced only if aperiodicity allows.
    let minV = Number.POSITIVE_INFINITY;
    for (let tau = minLag; tau <= maxLag; tau++) {
      const v = dn[tau] ?? 1;
      if (v < minV) {
        minV = v;
        best = tau;
      }
    }
  }
  if (best < 0) return;
  const a = dn[best] ?? 1;
  ap[f] = a;
  if (a > o.maxAperiodicity) return;
  // Parabolic interpolation around the minimum.
  const y0 = dn[best - 1] ?? a;
  const y2 = dn[best + 1] ?? a;
  const denom = y0 - 2 * a + y2;
  const shift = denom !== 0 ? (0.5 * (y0 - y2)) / denom : 0;
  const period = best + Math.max(-1, Math.min(1, shift));
  f0[f] = o.sampleRate / period;
}
