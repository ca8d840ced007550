/**
 * Speech rate from syllable nuclei, after de Jong & Wempe (2009): peaks of the intensity
 * contour that stand out from the loud part of the signal, are separated by a dip of at
 * least `minDipDb`, and (optionally) fall in voiced frames.
 */
import { percentile } from './level.js';

export interface SpeechRateOptions {
  /** Peaks below (99th percentile - this) are ignored, dB (de Jong & Wempe use 25). */
  silenceBelowPeakDb: number;
  /** A peak counts only if intensity dips at least this much before the next peak, dB. */
  minDipDb: number;
  /** Count only peaks whose frame is voiced. */
  requireVoiced: boolean;
  /** Minimum spacing between nuclei, s (no one says more than ~12 syllables per second). */
  minSpacingSec: number;
}

export const defaultSpeechRateOptions: SpeechRateOptions = {
  silenceBelowPeakDb: 25,
  minDipDb: 2,
  requireVoiced: true,
  minSpacingSec: 0.08,
};

export interface SpeechRate {
  /** Number of syllable nuclei found. */
  nuclei: number;
  /** Nuclei per second between the first and last frame above the silence threshold. */
  ratePerSec: number;
  /** Seconds between the first and last non-silent frame. */
  spanSec: number;
  /** Frame index of each counted nucleus, ascending (for per-segment counts, see segments.ts). */
  nucleusFrames: number[];
}

/**
 * @param intensityDb intensity contour in dB, one value per frame
 * @param voiced voicing flag per frame (same indexing), or undefined to skip the check
 * @param hopSec seconds between frames
 */
export function speechRate(intensityDb: Float32Array, voiced: ArrayLike<boolean> | undefined, hopSec: number, options: Partial<SpeechRateOptions> = {}): SpeechRate {
  const o = { ...defaultSpeechRateOptions, ...options };
  const n = intensityDb.length;
  const top = percentile(intensityDb, 0.99);
  if (!Number.isFinite(top) || n < 3) return { nuclei: 0, ratePerSec: 0, spanSec: 0, nucleusFrames: [] };
  const floor = top - o.silenceBelowPeakDb;
  let first = -1;
  let last = -1;
  for (let i = 0; i < n; i++) {
    if ((intensityDb[i] ?? -Infinity) > floor) {
      if (first < 0) first = i;
      last = i;
    }
  }
  const spanSec = first < 0 ? 0 : (last - first + 1) * hopSec;
  // Candidate peaks: local maxima above the floor.
  const peaks: number[] = [];
  for (let i = 1; i < n - 1; i++) {
    const v = intensityDb[i] ?? -Infinity;
    if (v > floor && v >= (intensityDb[i - 1] ?? -Infinity) && v > (intensityDb[i + 1] ?? -Infinity)) peaks.push(i);
  }
  // Keep a peak only when the contour dips by minDipDb between it and the next kept peak.
  const kept: number[] = [];
  const minSpacing = Math.max(1, Math.round(o.minSpacingSec / hopSec));
  for (const p of peaks) {
    const prev = kept[kept.length - 1];
    if (prev === undefined) {
      kept.push(p);
      continue;
    }
    let dip = Infinity;
    for (let i = prev; i <= p; i++) dip = Math.min(dip, intensityDb[i] ?? -Infinity);
    const pv = intensityDb[prev] ?? -Infinity;
    const cv = intensityDb[p] ?? -Infinity;
    if (Math.min(pv, cv) - dip >= o.minDipDb && p - prev >= minSpacing) kept.push(p);
    else if (cv > pv) kept[kept.length - 1] = p; // same nucleus, keep the louder point
  }
  const nucleusFrames = voiced && o.requireVoiced ? kept.filter((i) => voiced[i] === true) : kept;
  const nuclei = nucleusFrames.length;
  return { nuclei, ratePerSec: spanSec > 0 ? nuclei / spanSec : 0, spanSec, nucleusFrames };
}
