/**
 * "Repeat these unusual words". Without speech recognition in the service this checks
 * what acoustics can: voiced speech with roughly the number of syllables asked for.
 * The words' content is judged by the human operator (and later by an ASR detector).
 */
import { audioGate } from './gate.js';
import type { AudioCheckInput, CheckOutcome } from './types.js';

export interface WordsCheckOptions {
  /** Syllable count ratio (measured / expected) accepted. */
  minRatio: number;
  maxRatio: number;
  /** Below this ratio the caller clearly did not say the words. */
  failRatio: number;
}

export const defaultWordsCheckOptions: WordsCheckOptions = { minRatio: 0.5, maxRatio: 1.8, failRatio: 0.25 };

export function checkWords(input: AudioCheckInput, options: Partial<WordsCheckOptions> = {}): CheckOutcome {
  const o = { ...defaultWordsCheckOptions, ...options };
  const m = input.analysis.measurements;
  const expected = Math.max(1, input.params.syllables ?? 1);
  const ratio = m.syllables / expected;
  const measurements = { syllables: m.syllables, expectedSyllables: expected, syllableRatio: ratio, voicedFraction: m.voicedFraction };
  const gate = audioGate(m);
  if (gate) return { ...gate, measurements: { ...measurements, ...gate.measurements } };
  if (ratio <= o.failRatio) return { result: 'fail', measurements, reason: 'far fewer syllables than the words asked for' };
  if (ratio >= o.minRatio && ratio <= o.maxRatio) return { result: 'pass', measurements, reason: 'speech of the expected length' };
  return { result: 'unclear', measurements, reason: 'syllable count differs from the words asked for' };
}
