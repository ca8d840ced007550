/** "Speak softly" / "speak loudly": level change against the caller's usual level. */
import { audioGate, decide } from './gate.js';
import type { AudioCheckInput, CheckOutcome } from './types.js';

export interface LoudnessCheckOptions {
  /** Change in dB needed to pass (absolute value). */
  passDb: number;
  /** Change in dB at or under which it fails (absolute value). */
  failDb: number;
}

export const defaultSoftCheckOptions: LoudnessCheckOptions = { passDb: 6, failDb: 2 };
export const defaultLoudCheckOptions: LoudnessCheckOptions = { passDb: 4, failDb: 1 };

function check(input: AudioCheckInput, direction: 'softer' | 'louder', o: LoudnessCheckOptions): CheckOutcome {
  const m = input.analysis.measurements;
  const deltaDb = m.levelDbfs - input.baseline.levelDbfs;
  const measurements = { levelDbfs: m.levelDbfs, baselineLevelDbfs: input.baseline.levelDbfs, deltaDb, voicedFraction: m.voicedFraction };
  const gate = audioGate(m);
  if (gate) return { ...gate, measurements: { ...measurements, ...gate.measurements } };
  const signed = direction === 'softer' ? -deltaDb : deltaDb;
  const result = decide(signed, o.passDb, o.failDb, true);
  const reason = result === 'pass' ? `${direction} than usual as asked` : result === 'fail' ? `not ${direction} than usual` : `only slightly ${direction}`;
  return { result, measurements, reason };
}

export function checkSoft(input: AudioCheckInput, options: Partial<LoudnessCheckOptions> = {}): CheckOutcome {
  return check(input, 'softer', { ...defaultSoftCheckOptions, ...options });
}

export function checkLoud(input: AudioCheckInput, options: Partial<LoudnessCheckOptions> = {}): CheckOutcome {
  return check(input, 'louder', { ...defaultLoudCheckOptions, ...options });
}
