/**
 * "Read this twice, once at your normal pace, then again as fast as you can" (or "... very
 * slowly"): the second reading is timed against the first reading of the SAME phrase, not
 * against the caller's usual rate on other sentences (one person's sentences differ by 30-60 %
 * in syllable rate, so a naturally fast sentence used to pass "read quickly").
 *
 * Path 1 (two readings, `dsp/readings.ts`): the response is split at the longest pause that
 * leaves two parts of comparable syllable content; the decision is on the duration ratio of the
 * two readings (first to last active frame each; same text, so duration is inverse tempo). The
 * nuclei-rate ratio is a secondary measurement that may veto a pass when it clearly contradicts
 * it (a split into parts of different content). Path 2 (no clean split, e.g. one reading only):
 * the response's syllable rate against the caller's usual rate, as before, but it can only
 * pass (with a wider margin than the natural sentence-to-sentence spread) or stay unclear; it
 * never fails. `twoReadings` (1 / 0) in the measurements says which path decided.
 */
import { splitReadings, type ReadingsOptions } from '../dsp/readings.js';
import { audioGate, decide } from './gate.js';
import type { AudioCheckInput, CheckOutcome } from './types.js';

export interface RateCheckOptions {
  /** Second reading this many times faster (quickly) or slower (slowly) than the first, by duration: pass. */
  passRatio: number;
  /** Second reading at most this many times faster / slower (or the other way): fail. */
  failRatio: number;
  /** A pass needs the nuclei-rate ratio of the readings to be at least this in the asked direction. */
  minRateAgreement: number;
  /** Fallback (no two readings): response rate / usual rate this far in the asked direction passes; it never fails. */
  fallbackPassRatio: number;
  /**
   * The two readings together must hold at least this many times the phrase's syllables in nuclei
   * (one reading holds 0.7-1.1x, two 1.3-2x): a single reading with a pause in it is not split.
   */
  minTotalSyllableFraction: number;
  /**
   * A second reading that ends closer than this to the end of the clip may have been cut by the
   * response window, s: it is a lower bound on the duration, so it cannot pass "quickly" or fail "slowly".
   */
  cutMarginSec: number;
  readings: Partial<ReadingsOptions>;
}

export const defaultRateCheckOptions: RateCheckOptions = {
  passRatio: 1.3,
  failRatio: 1.08,
  minRateAgreement: 0.9,
  fallbackPassRatio: 1.6,
  minTotalSyllableFraction: 1.2,
  cutMarginSec: 0.1,
  readings: {},
};

type Direction = 'faster' | 'slower';

const round = (x: number): number => Math.round(x * 1000) / 1000;

function check(input: AudioCheckInput, direction: Direction, o: RateCheckOptions): CheckOutcome {
  const m = input.analysis.measurements;
  const gate = audioGate(m);
  if (gate) return { ...gate, measurements: { syllables: m.syllables, ...gate.measurements } };
  const split = splitReadings(input.analysis.segments, o.readings);
  const expected = input.params.syllables;
  const enoughContent = split.ok && (expected === undefined || split.first.nuclei + split.second.nuclei >= o.minTotalSyllableFraction * expected);
  if (split.ok && enoughContent) {
    const { first, second } = split;
    // > 1: the second reading went the asked way.
    const durationChange = direction === 'faster' ? first.spanSec / Math.max(0.01, second.spanSec) : second.spanSec / Math.max(0.01, first.spanSec);
    const rateChange = direction === 'faster' ? second.ratePerSec / Math.max(0.01, first.ratePerSec) : first.ratePerSec / Math.max(0.01, second.ratePerSec);
    const cut = m.durationSec - second.endSec < o.cutMarginSec;
    const measurements = {
      twoReadings: 1,
      firstReadingSec: round(first.spanSec),
      secondReadingSec: round(second.spanSec),
      pauseSec: round(split.pauseSec),
      firstNuclei: first.nuclei,
      secondNuclei: second.nuclei,
      durationChange: round(durationChange),
      rateChange: round(rateChange),
      secondReadingCut: cut ? 1 : 0,
    };
    const result = decide(durationChange, o.passRatio, o.failRatio, true);
    // A cut second reading looks shorter than it was: faster for "quickly", not slow enough for "slowly".
    if (cut && result === (direction === 'faster' ? 'pass' : 'fail')) return { result: 'unclear', measurements, reason: 'second reading cut off at the end of the response' };
    if (result === 'pass' && rateChange < o.minRateAgreement) return { result: 'unclear', measurements, reason: 'reading durations and syllable rates disagree' };
    const reason = result === 'pass' ? `second reading ${direction} as asked` : result === 'fail' ? `second reading not ${direction} than the first` : `second reading only slightly ${direction}`;
    return { result, measurements, reason };
  }
  // Fallback: one reading (or no clean pause): against the caller's usual rate, pass or unclear only.
  const ratio = m.syllableRate / Math.max(0.1, input.baseline.syllableRate);
  const change = direction === 'faster' ? ratio : 1 / Math.max(1e-3, ratio);
  const measurements = { twoReadings: 0, syllableRate: m.syllableRate, baselineSyllableRate: input.baseline.syllableRate, rateRatio: round(ratio), syllables: m.syllables };
  if (m.syllables < 3) return { result: 'unclear', measurements, reason: 'too few syllables to time' };
  if (change >= o.fallbackPassRatio) return { result: 'pass', measurements, reason: `one reading found, clearly ${direction} than usual` };
  return { result: 'unclear', measurements, reason: split.ok ? 'too little speech for two readings; not clearly different from usual' : `no two readings found (${split.reason}); not clearly different from usual` };
}

export function checkFast(input: AudioCheckInput, options: Partial<RateCheckOptions> = {}): CheckOutcome {
  return check(input, 'faster', { ...defaultRateCheckOptions, ...options });
}

export function checkSlow(input: AudioCheckInput, options: Partial<RateCheckOptions> = {}): CheckOutcome {
  return check(input, 'slower', { ...defaultRateCheckOptions, ...options });
}
