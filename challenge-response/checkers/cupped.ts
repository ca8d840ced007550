/**
 * "Cup your hands over your mouth": the hands act as a low-pass filter, so the share of
 * energy above 3 kHz drops and the spectrum tilts down, while the voice stays voiced.
 * The ratio depends on what is said (fricatives), so the thresholds leave a wide margin.
 */
import { audioGate, decide } from './gate.js';
import type { AudioCheckInput, CheckOutcome } from './types.js';

export interface CuppedCheckOptions {
  /** Pass at or below this high-band ratio relative to the baseline. */
  passRatio: number;
  /** Fail at or above it. */
  failRatio: number;
}

export const defaultCuppedCheckOptions: CuppedCheckOptions = { passRatio: 0.35, failRatio: 0.6 };

export function checkCupped(input: AudioCheckInput, options: Partial<CuppedCheckOptions> = {}): CheckOutcome {
  const o = { ...defaultCuppedCheckOptions, ...options };
  const m = input.analysis.measurements;
  const b = input.baseline;
  const ratio = m.highBandRatio / Math.max(1e-6, b.highBandRatio);
  const measurements = { highBandRatio: m.highBandRatio, baselineHighBandRatio: b.highBandRatio, relativeHighBand: ratio, tiltDbPerOctave: m.tiltDbPerOctave, baselineTiltDbPerOctave: b.tiltDbPerOctave };
  const gate = audioGate(m);
  if (gate) return { ...gate, measurements: { ...measurements, ...gate.measurements } };
  const result = decide(ratio, o.passRatio, o.failRatio, false);
  const reason = result === 'pass' ? 'muffled as by cupped hands' : result === 'fail' ? 'high frequencies unchanged' : 'slightly muffled';
  return { result, measurements, reason };
}
