/** "Whisper this phrase": a whisper has speech-like modulation but almost no voicing. */
import { audioGate } from './gate.js';
import type { AudioCheckInput, CheckOutcome } from './types.js';

export interface WhisperCheckOptions {
  /** Pass at or below this voiced fraction (and half the caller's usual voicing). */
  passVoiced: number;
  /** Fail at or above this voiced fraction. */
  failVoiced: number;
}

export const defaultWhisperCheckOptions: WhisperCheckOptions = { passVoiced: 0.2, failVoiced: 0.4 };

export function checkWhisper(input: AudioCheckInput, options: Partial<WhisperCheckOptions> = {}): CheckOutcome {
  const o = { ...defaultWhisperCheckOptions, ...options };
  const m = input.analysis.measurements;
  const b = input.baseline;
  const measurements = { voicedFraction: m.voicedFraction, baselineVoicedFraction: b.voicedFraction, flatness: m.flatness, baselineFlatness: b.flatness, activeSec: m.activeSec };
  if (m.activeSec < 0.1) return { result: 'unclear', measurements, reason: 'silence' };
  // A whisper is unvoiced by design, so only silence, clipping and brevity are gated here,
  // and steady noise is told apart by its missing syllabic modulation.
  const gate = audioGate({ ...m, voicedFraction: 1 });
  if (gate) return { ...gate, measurements: { ...measurements, ...gate.measurements } };
  if (m.levelModulationDb < 6) return { result: 'unclear', measurements: { ...measurements, levelModulationDb: m.levelModulationDb }, reason: 'noise only, no speech' };
  const passAt = Math.min(o.passVoiced, 0.5 * b.voicedFraction);
  if (m.voicedFraction <= passAt) return { result: 'pass', measurements, reason: 'unvoiced speech as asked' };
  if (m.voicedFraction >= o.failVoiced) return { result: 'fail', measurements, reason: 'voiced speech where a whisper was asked' };
  return { result: 'unclear', measurements, reason: 'partly voiced' };
}
