/**
 * Melody contour match: the voiced f0 contour in semitones (key removed by subtracting
 * its median) is aligned by dynamic time warping to the expected note sequence (also
 * median-removed), so tempo and key do not matter, only the shape of the tune.
 */
import { percentile } from './level.js';

export interface MelodyNote {
  /** MIDI note number (60 = C4, 261.6 Hz). */
  midi: number;
  durationSec: number;
}

export interface MelodyMatch {
  /** Mean absolute semitone distance along the DTW path. */
  distanceSemitones: number;
  /** Fraction of the contour's frames that were voiced. */
  voicedCoverage: number;
  /** Range (p90 - p10) of the sung contour, semitones. */
  rangeSemitones: number;
}

export function hzToSemitones(hz: number, refHz = 440): number {
  return 12 * Math.log2(hz / refHz);
}

export function midiToHz(midi: number): number {
  return 440 * 2 ** ((midi - 69) / 12);
}

const median = (v: readonly number[]): number => percentile(v, 0.5);

/**
 * @param f0 pitch track (Hz, NaN unvoiced)
 * @param hopSec seconds per frame of f0
 * @param notes expected melody
 * @param stepSec contour resolution for the alignment (keeps DTW cheap)
 * @param bandFraction how far (share of the length) the alignment may leave the diagonal
 */
export function matchMelody(f0: Float32Array, hopSec: number, notes: readonly MelodyNote[], stepSec = 0.05, bandFraction = 0.12): MelodyMatch {
  const step = Math.max(1, Math.round(stepSec / hopSec));
  const observed: number[] = [];
  let voiced = 0;
  let firstVoiced = -1;
  let lastVoiced = -1;
  for (let i = 0; i < f0.length; i++) {
    if (Number.isFinite(f0[i])) {
      voiced++;
      if (firstVoiced < 0) firstVoiced = i;
      lastVoiced = i;
    }
  }
  if (firstVoiced < 0 || notes.length === 0) return { distanceSemitones: Number.NaN, voicedCoverage: 0, rangeSemitones: 0 };
  // Median semitone value of each block of `step` frames inside the voiced span.
  for (let i = firstVoiced; i <= lastVoiced; i += step) {
    const block: number[] = [];
    for (let j = i; j < Math.min(i + step, lastVoiced + 1); j++) {
      const v = f0[j];
      if (v !== undefined && Number.isFinite(v)) block.push(hzToSemitones(v));
    }
    if (block.length > 0) observed.push(median(block));
  }
  const coverage = voiced / (lastVoiced - firstVoiced + 1);
  const oMed = median(observed);
  const obs = observed.map((v) => v - oMed);
  // Fold octave errors of the tracker back towards the contour.
  for (let i = 0; i < obs.length; i++) {
    let v = obs[i] ?? 0;
    while (v > 9) v -= 12;
    while (v < -9) v += 12;
    obs[i] = v;
  }
  const expected: number[] = [];
  const totalDur = notes.reduce((a, n) => a + n.durationSec, 0);
  const perNote = notes.map((n) => Math.max(1, Math.round((n.durationSec / totalDur) * Math.max(notes.length * 2, obs.length))));
  notes.forEach((n, i) => {
    for (let k = 0; k < (perNote[i] ?? 1); k++) expected.push(n.midi);
  });
  const eMed = median(expected);
  const exp = expected.map((v) => v - eMed);
  // DTW with mean cost along the path, inside a Sakoe-Chiba band: tempo may drift by
  // `band` of the length, but the notes must come in order (a reversed tune must not fit).
  const rows = obs.length;
  const cols = exp.length;
  const band = Math.max(2, Math.round(bandFraction * Math.max(rows, cols)));
  const cost = new Float64Array((rows + 1) * (cols + 1));
  const len = new Float64Array((rows + 1) * (cols + 1));
  const at = (i: number, j: number): number => i * (cols + 1) + j;
  /** Mean DTW cost with the expected tune transposed by `shift` semitones. */
  const dtw = (shift: number): number => {
    cost.fill(Infinity);
    len.fill(0);
    cost[0] = 0;
    for (let i = 1; i <= rows; i++) {
      const centre = Math.round((i * cols) / rows);
      for (let j = Math.max(1, centre - band); j <= Math.min(cols, centre + band); j++) {
        const c = Math.abs((obs[i - 1] ?? 0) - (exp[j - 1] ?? 0) - shift);
        let best = at(i - 1, j - 1);
        if ((cost[at(i - 1, j)] ?? Infinity) < (cost[best] ?? Infinity)) best = at(i - 1, j);
        if ((cost[at(i, j - 1)] ?? Infinity) < (cost[best] ?? Infinity)) best = at(i, j - 1);
        cost[at(i, j)] = (cost[best] ?? Infinity) + c;
        len[at(i, j)] = (len[best] ?? 0) + 1;
      }
    }
    return (cost[at(rows, cols)] ?? Infinity) / Math.max(1, len[at(rows, cols)] ?? 1);
  };
  // Median removal leaves a key offset when the median lands on a different note of a
  // short tune; search the transposition that fits best (a reversed tune still cannot fit).
  let distance = Infinity;
  for (let shift = -3; shift <= 3; shift += 0.25) distance = Math.min(distance, dtw(shift));
  const sorted = [...obs].sort((a, b) => a - b);
  const p = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? 0;
  return { distanceSemitones: distance, voicedCoverage: coverage, rangeSemitones: p(0.9) - p(0.1) };
}
