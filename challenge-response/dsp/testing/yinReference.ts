/**
 * The direct O(window x lags) YIN of before 2026-12-03, kept unchanged as the reference
 * that the faster `yinTrack` (yin.ts) is tested against (yin.test.ts) and timed against
 * (bench.ts). Not used by the service. It computes the difference function directly; the
 * steps after it are yin.ts's own (pitchFromDifference).
 */
import { rmsDbfs } from '../level.js';
import { defaultYinOptions, pitchFromDifference, type PitchTrack, type YinOptions } from '../yin.js';

export function yinTrackReference(samples: Float32Array, options: Partial<YinOptions> = {}): PitchTrack {
  const o = { ...defaultYinOptions, ...options };
  const maxLag = Math.min(Math.ceil(o.sampleRate / o.minF0), Math.floor(samples.length / 2));
  const minLag = Math.max(2, Math.floor(o.sampleRate / o.maxF0));
  const span = o.window + maxLag + 1;
  const frames = samples.length < span ? 0 : Math.floor((samples.length - span) / o.hop) + 1;
  const f0 = new Float32Array(frames).fill(Number.NaN);
  const ap = new Float32Array(frames).fill(1);
  const d = new Float64Array(maxLag + 2);
  const dn = new Float64Array(maxLag + 2);
  // d(tau) = e(start) + e(start + tau) - 2 r(tau), with window energies from a prefix sum of
  // squares and r(tau) a plain dot product: one multiply-add per lag and sample.
  const x = Float64Array.from(samples);
  const sq = new Float64Array(x.length + 1);
  for (let i = 0; i < x.length; i++) sq[i + 1] = (sq[i] as number) + (x[i] as number) * (x[i] as number);
  for (let f = 0; f < frames; f++) {
    const start = f * o.hop;
    if (rmsDbfs(samples, start, start + o.window + maxLag) < o.silenceDbfs) continue;
    const e0 = (sq[start + o.window] as number) - (sq[start] as number);
    for (let tau = 1; tau <= maxLag + 1; tau++) {
      let r = 0;
      for (let j = start, k = start + tau, end = start + o.window; j < end; j++, k++) r += (x[j] as number) * (x[k] as number);
      const et = (sq[start + tau + o.window] as number) - (sq[start + tau] as number);
      d[tau] = Math.max(0, e0 + et - 2 * r);
    }
    pitchFromDifference(d, dn, minLag, maxLag, o, f, f0, ap);
  }
  return { f0, aperiodicity: ap, hopSec: o.hop / o.sampleRate };
}
