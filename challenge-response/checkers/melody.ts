/** "Sing or hum this tune": the voiced contour must follow the prompt's melody shape. */
import { matchMelody } from '../dsp/melody.js';
import { audioGate } from './gate.js';
import type { AudioCheckInput, CheckOutcome } from './types.js';

export interface MelodyCheckOptions {
  /** Pass at or below this mean semitone distance. */
  passDistance: number;
  /** Fail at or above it. */
  failDistance: number;
  /** Voiced share of the sung span needed to judge. */
  minCoverage: number;
}

export const defaultMelodyCheckOptions: MelodyCheckOptions = { passDistance: 1.2, failDistance: 1.8, minCoverage: 0.4 };

export function checkMelody(input: AudioCheckInput, options: Partial<MelodyCheckOptions> = {}): CheckOutcome {
  const o = { ...defaultMelodyCheckOptions, ...options };
  const notes = input.params.melody ?? [];
  const m = input.analysis.measurements;
  const match = matchMelody(input.analysis.f0, input.analysis.hopSec, notes);
  const midis = notes.map((n) => n.midi);
  const expectedRange = midis.length > 0 ? Math.max(...midis) - Math.min(...midis) : 0;
  const measurements = { distanceSemitones: match.distanceSemitones, voicedCoverage: match.voicedCoverage, rangeSemitones: match.rangeSemitones, expectedRangeSemitones: expectedRange };
  if (notes.length < 2) return { result: 'unclear', measurements, reason: 'challenge has no melody' };
  const gate = audioGate(m);
  if (gate) return { ...gate, measurements: { ...measurements, ...gate.measurements } };
  if (match.voicedCoverage < o.minCoverage) return { result: 'fail', measurements, reason: 'not sung or hummed' };
  if (match.rangeSemitones < 0.3 * expectedRange) return { result: 'fail', measurements, reason: 'monotone, melody not followed' };
  if (match.distanceSemitones <= o.passDistance) return { result: 'pass', measurements, reason: 'melody followed' };
  if (match.distanceSemitones >= o.failDistance) return { result: 'fail', measurements, reason: 'melody not followed' };
  return { result: 'unclear', measurements, reason: 'melody roughly followed' };
}
