/** "Speak in a high voice": median f0 rise in semitones over the caller's usual median. */
import { audioGate, decide } from './gate.js';
import type { AudioCheckInput, CheckOutcome } from './types.js';

export interface HighPitchCheckOptions {
  passSemitones: number;
  failSemitones: number;
}

export const defaultHighPitchCheckOptions: HighPitchCheckOptions = { passSemitones: 3, failSemitones: 1 };

export function checkHighPitch(input: AudioCheckInput, options: Partial<HighPitchCheckOptions> = {}): CheckOutcome {
  const o = { ...defaultHighPitchCheckOptions, ...options };
  const m = input.analysis.measurements;
  const riseSemitones = 12 * Math.log2(m.f0MedianHz / input.baseline.f0MedianHz);
  const measurements = { f0MedianHz: m.f0MedianHz, baselineF0MedianHz: input.baseline.f0MedianHz, riseSemitones, voicedFraction: m.voicedFraction };
  const gate = audioGate(m);
  if (gate) return { ...gate, measurements: { ...measurements, ...gate.measurements } };
  if (m.voicedFraction < 0.2) return { result: 'unclear', measurements, reason: 'too little voiced speech for pitch' };
  const result = decide(riseSemitones, o.passSemitones, o.failSemitones, true);
  const reason = result === 'pass' ? 'pitch raised as asked' : result === 'fail' ? 'pitch not raised' : 'pitch raised only slightly';
  return { result, measurements, reason };
}
