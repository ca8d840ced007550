/**
 * One pass over a clip of 16 kHz mono speech: every measurement the checkers and the
 * speaker baseline use. Frames share one grid (hop 10 ms) so level, voicing and spectrum
 * line up frame by frame.
 */
import { DfdError } from '../../kernel/errors.js';
import { clippedFraction, frameLevels, percentile } from './level.js';
import { spectralShape } from './spectrum.js';
import { speechSegments, type SpeechSegment } from './segments.js';
import { speechRate } from './speechRate.js';
import { defaultYinOptions, yinTrack } from './yin.js';

export interface AnalyseOptions {
  sampleRate: number;
  /** Frames quieter than this are silence, dBFS. */
  silenceDbfs: number;
  /** Frames more than this below the loudest part are silence too, dB. */
  dynamicRangeDb: number;
  /** Level frame length, samples. */
  frameLength: number;
  hop: number;
  /** Aperiodicity above which a frame is unvoiced (YIN). */
  maxAperiodicity: number;
  minF0: number;
  maxF0: number;
}

export const defaultAnalyseOptions: AnalyseOptions = {
  sampleRate: 16000,
  silenceDbfs: -55,
  dynamicRangeDb: 35,
  frameLength: 400,
  hop: 160,
  maxAperiodicity: defaultYinOptions.maxAperiodicity,
  minF0: 60,
  maxF0: 1000,
};

/** Plain numbers only: goes into events and onto the bus. NaN where not measurable. */
export interface AudioMeasurements {
  durationSec: number;
  /** Seconds of frames above the silence thresholds. */
  activeSec: number;
  /**
   * Active speech level, dBFS: the energy mean of the active frames (as ITU-T P.56 averages
   * power over active speech). Loud vowels dominate it, so it depends less than a median of
   * frames on how many weak consonants, pauses and decays a sentence has, and one person's
   * sentences differ less from their baseline (eval/realSpeechEval.ts, speak-softly: the usual
   * voice or a 1 dB near miss is "unclear" in 11 of 24 cases instead of 17).
   */
  levelDbfs: number;
  /** 95th percentile of active frame levels, dBFS. */
  peakLevelDbfs: number;
  /** p90 - p10 of active frame levels, dB: speech is syllabic, steady noise is not. */
  levelModulationDb: number;
  clippedFraction: number;
  /** Voiced active frames / active frames. */
  voicedFraction: number;
  flatness: number;
  highBandRatio: number;
  tiltDbPerOctave: number;
  f0MedianHz: number;
  f0P10Hz: number;
  f0P90Hz: number;
  syllables: number;
  syllableRate: number;
}

export interface AudioAnalysis {
  measurements: AudioMeasurements;
  /** f0 per frame (Hz, NaN unvoiced), for the melody match. */
  f0: Float32Array;
  hopSec: number;
  /**
   * Runs of active frames with their syllable nuclei and voiced time (plain objects, a few
   * dozen per response): where the speech and the pauses are, e.g. to split a response into
   * two readings of one phrase (readings.ts).
   */
  segments: SpeechSegment[];
}

export function analyseAudio(samples: Float32Array, options: Partial<AnalyseOptions> = {}): AudioAnalysis {
  const o = { ...defaultAnalyseOptions, ...options };
  if (!(samples instanceof Float32Array)) throw new DfdError('ERR_BAD_REQUEST', 'samples must be a Float32Array');
  if (!Number.isFinite(o.sampleRate) || o.sampleRate < 8000) throw new DfdError('ERR_BAD_REQUEST', 'sample rate must be >= 8000', { sampleRate: o.sampleRate });
  // Replace NaN/Inf from a broken decoder so one bad sample cannot poison the sums.
  let clean = samples;
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i])) {
      clean = samples.map((v) => (Number.isFinite(v) ? v : 0));
      break;
    }
  }
  const hopSec = o.hop / o.sampleRate;
  const levels = frameLevels(clean, o.frameLength, o.hop);
  const pitch = yinTrack(clean, {
    sampleRate: o.sampleRate,
    hop: o.hop,
    window: o.frameLength,
    minF0: o.minF0,
    maxF0: o.maxF0,
    maxAperiodicity: o.maxAperiodicity,
    silenceDbfs: o.silenceDbfs,
  });
  const top = percentile(levels, 0.99);
  const threshold = Math.max(o.silenceDbfs, (Number.isFinite(top) ? top : -Infinity) - o.dynamicRangeDb);
  const activeStarts: number[] = [];
  const activeLevels: number[] = [];
  const voicedFlags: boolean[] = new Array<boolean>(levels.length).fill(false);
  const activeFlags: boolean[] = new Array<boolean>(levels.length).fill(false);
  let voicedActive = 0;
  const f0s: number[] = [];
  for (let f = 0; f < levels.length; f++) {
    const lv = levels[f] ?? -Infinity;
    // The pitch track has fewer frames (it needs a lag margin); treat the tail as unvoiced.
    const hz = f < pitch.f0.length ? (pitch.f0[f] ?? Number.NaN) : Number.NaN;
    const v = Number.isFinite(hz);
    voicedFlags[f] = v;
    if (lv < threshold) continue;
    activeFlags[f] = true;
    activeStarts.push(f * o.hop);
    activeLevels.push(lv);
    if (v) {
      voicedActive++;
      f0s.push(hz);
    }
  }
  const shape = spectralShape(clean, activeStarts, { sampleRate: o.sampleRate, fftSize: o.sampleRate > 24000 ? 1024 : 512 });
  // Voicing near a nucleus (+-3 frames) is enough: peaks sit on vowel onsets.
  const voicedNear = voicedFlags.map((_, i) => {
    for (let k = Math.max(0, i - 3); k <= Math.min(voicedFlags.length - 1, i + 3); k++) if (voicedFlags[k]) return true;
    return false;
  });
  // Smoother intensity contour for syllable nuclei: 50 ms frames.
  const intensity = frameLevels(clean, Math.round(0.05 * o.sampleRate), o.hop);
  const rate = speechRate(intensity, voicedNear, hopSec);
  const nActive = activeLevels.length;
  const measurements: AudioMeasurements = {
    durationSec: clean.length / o.sampleRate,
    activeSec: nActive * hopSec,
    levelDbfs: energyMeanDb(activeLevels),
    peakLevelDbfs: percentile(activeLevels, 0.95),
    levelModulationDb: nActive > 0 ? percentile(activeLevels, 0.9) - percentile(activeLevels, 0.1) : Number.NaN,
    clippedFraction: clippedFraction(clean),
    voicedFraction: nActive > 0 ? voicedActive / nActive : 0,
    flatness: shape.flatness,
    highBandRatio: shape.highBandRatio,
    tiltDbPerOctave: shape.tiltDbPerOctave,
    f0MedianHz: percentile(f0s, 0.5),
    f0P10Hz: percentile(f0s, 0.1),
    f0P90Hz: percentile(f0s, 0.9),
    syllables: nActive > 0 ? rate.nuclei : 0,
    syllableRate: nActive > 0 ? rate.ratePerSec : 0,
  };
  const segments = nActive > 0 ? speechSegments(activeFlags, voicedFlags, rate.nucleusFrames, hopSec) : [];
  return { measurements, f0: pitch.f0, hopSec, segments };
}

/** Energy mean of levels in dB (NaN when empty). */
function energyMeanDb(levelsDb: readonly number[]): number {
  if (levelsDb.length === 0) return Number.NaN;
  let e = 0;
  for (const l of levelsDb) e += 10 ** (l / 10);
  return 10 * Math.log10(e / levelsDb.length);
}
