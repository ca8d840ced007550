/** "Read this quickly" / "read this slowly": syllable rate against the caller's usual rate. */
import { audioGate, decide } from './gate.js';
import type { AudioCheckInput, CheckOutcome } from './types.js';

export interface RateCheckOptions {
  /** Rate ratio (response / baseline) that passes. */
  passRatio: number;
  /** Rate ratio that fails. */
  failRatio: number;
}

export const defaultFastCheckOptions: RateCheckOptions = { passRatio: 1.2, failRatio: 1.05 };
export const defaultSlowCheckOptions: RateCheckOptions = { passRatio: 0.75, failRatio: 0.92 };

function check(input: AudioCheckInput, direction: 'faster' | 'slower', o: RateCheckOptions): CheckOutcome {
  const m = input.analysis.measurements;
  const ratio = m.syllableRate / Math.max(0.1, input.baseline.syllableRate);
  const measurements = { syllableRate: m.syllableRate, baselineSyllableRate: input.baseline.syllableRate, rateRatio: ratio, syllables: m.syllables };
  const gate = audioGate(m);
  if (gate) return { ...gate, measurements: { ...measurements, ...gate.measurements } };
  if (m.syllables < 3) return { result: 'unclear', measurements, reason: 'too few syllables to time' };
  const result = decide(ratio, o.passRatio, o.failRatio, direction === 'faster');
  const reason = result === 'pass' ? `read ${direction} as asked` : result === 'fail' ? `not ${direction} than usual` : `only slightly ${direction}`;
  return { result, measurements, reason };
}

export function checkFast(input: AudioCheckInput, options: Partial<RateCheckOptions> = {}): CheckOutcome {
  return check(input, 'faster', { ...defaultFastCheckOptions, ...options });
}

export function checkSlow(input: AudioCheckInput, options: Partial<RateCheckOptions> = {}): CheckOutcome {
  return check(input, 'slower', { ...defaultSlowCheckOptions, ...options });
}
