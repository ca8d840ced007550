/**
 * What a voice detector must not be asked to judge. A window that is silent after DC removal, clipped
 * over a noticeable share of its samples, or holds NaN/Inf gets no score (an abstention, counted as a
 * drop with reason `unjudgeable-audio`), never a confident one: the models never saw such input, and
 * their output on it means nothing. The service's VAD gate already keeps most silence away; this is
 * the last check before inference, shared by the inference pool and the offline evaluator.
 */

export type AudioWindowIssue = 'non-finite' | 'silent' | 'clipped';

export interface AudioGateOptions {
  /** RMS after mean removal below this (dBFS) is silence. */
  silentDbfs: number;
  /** |sample| at or above this counts as clipped. */
  clipLevel: number;
  /** Share of clipped samples above which the window is not judged. */
  clippedShare: number;
}

export const defaultAudioGateOptions: AudioGateOptions = { silentDbfs: -60, clipLevel: 0.999, clippedShare: 0.02 };

export function audioWindowIssue(x: Float32Array, o: AudioGateOptions = defaultAudioGateOptions): AudioWindowIssue | undefined {
  const n = x.length;
  if (n === 0) return 'silent';
  // One pass (this runs on the pool's thread for every window): variance = E[x^2] - mean^2, in float64.
  let sum = 0;
  let squares = 0;
  let clipped = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) return 'non-finite';
    sum += v;
    squares += v * v;
    if (v >= o.clipLevel || v <= -o.clipLevel) clipped++;
  }
  const mean = sum / n;
  const rms = Math.sqrt(Math.max(0, squares / n - mean * mean));
  if (rms <= 0 || 20 * Math.log10(rms) < o.silentDbfs) return 'silent';
  if (clipped / n > o.clippedShare) return 'clipped';
  return undefined;
}
