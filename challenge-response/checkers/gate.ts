/**
 * Reasons a response cannot be judged at all, shared by the audio checkers: silence,
 * too little speech, clipping, steady noise with no speech in it.
 */
import type { AudioMeasurements } from '../dsp/analyse.js';
import type { CheckOutcome } from './types.js';

export interface AudioGateOptions {
  /** Less active audio than this is silence, s. */
  silenceSec: number;
  /** Less active audio than this is too short to judge, s. */
  minActiveSec: number;
  /** More clipped samples than this fraction is clipping. */
  maxClippedFraction: number;
  /** Unvoiced and flatter than this level modulation: steady noise, not speech, dB. */
  noiseModulationDb: number;
}

export const defaultAudioGateOptions: AudioGateOptions = {
  silenceSec: 0.1,
  minActiveSec: 0.8,
  maxClippedFraction: 0.02,
  noiseModulationDb: 6,
};

/** Returns an 'unclear' outcome when the clip cannot be judged, else undefined. */
export function audioGate(m: AudioMeasurements, options: Partial<AudioGateOptions> = {}): CheckOutcome | undefined {
  const o = { ...defaultAudioGateOptions, ...options };
  const measurements = { activeSec: m.activeSec, clippedFraction: m.clippedFraction, levelModulationDb: m.levelModulationDb, voicedFraction: m.voicedFraction };
  if (!(m.activeSec >= o.silenceSec)) return { result: 'unclear', measurements, reason: 'silence' };
  if (m.clippedFraction > o.maxClippedFraction) return { result: 'unclear', measurements, reason: 'clipping' };
  if (m.activeSec < o.minActiveSec) return { result: 'unclear', measurements, reason: 'response too short' };
  if (m.voicedFraction < 0.1 && !(m.levelModulationDb >= o.noiseModulationDb)) return { result: 'unclear', measurements, reason: 'noise only, no speech' };
  return undefined;
}

/** Three-way decision on one number: pass beyond `passAt`, fail short of `failAt`. */
export function decide(value: number, passAt: number, failAt: number, higherPasses: boolean): 'pass' | 'fail' | 'unclear' {
  if (!Number.isFinite(value)) return 'unclear';
  if (higherPasses) return value >= passAt ? 'pass' : value <= failAt ? 'fail' : 'unclear';
  return value <= passAt ? 'pass' : value >= failAt ? 'fail' : 'unclear';
}
