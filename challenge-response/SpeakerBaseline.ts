/**
 * The caller's own normal speech, measured earlier in the call: checkers judge a response
 * relative to it ("softer than you usually speak"), not against population norms alone.
 * Bounded: keeps the measurements of the last `maxWindows` speech windows.
 */
import type { AudioMeasurements } from './dsp/analyse.js';
import { percentile } from './dsp/level.js';

export interface SpeakerBaseline {
  /** Seconds of active speech the baseline rests on. */
  speechSeconds: number;
  levelDbfs: number;
  f0MedianHz: number;
  f0P10Hz: number;
  f0P90Hz: number;
  voicedFraction: number;
  flatness: number;
  highBandRatio: number;
  tiltDbPerOctave: number;
  syllableRate: number;
  /** False when population defaults stand in for missing measurements. */
  personal: boolean;
}

/** Typical adult conversational speech, used until the caller's own baseline is ready. */
export const populationBaseline: SpeakerBaseline = {
  speechSeconds: 0,
  levelDbfs: -26,
  f0MedianHz: 150,
  f0P10Hz: 110,
  f0P90Hz: 210,
  voicedFraction: 0.65,
  flatness: 0.05,
  highBandRatio: 0.05,
  tiltDbPerOctave: -5,
  syllableRate: 4.5,
  personal: false,
};

export interface BaselineTrackerOptions {
  /** Speech seconds needed before the baseline counts as personal. */
  minSpeechSec: number;
  /** Windows kept (older ones are dropped). */
  maxWindows: number;
  /** Windows with less active speech than this are ignored, s. */
  minWindowActiveSec: number;
}

export const defaultBaselineTrackerOptions: BaselineTrackerOptions = {
  minSpeechSec: 4,
  maxWindows: 30,
  minWindowActiveSec: 0.5,
};

export class BaselineTracker {
  private readonly options: BaselineTrackerOptions;
  private readonly windows: AudioMeasurements[] = [];

  constructor(options: Partial<BaselineTrackerOptions> = {}) {
    this.options = { ...defaultBaselineTrackerOptions, ...options };
  }

  /** Adds one window of normal (unchallenged) speech. Returns whether it was used. */
  add(m: AudioMeasurements): boolean {
    if (!(m.activeSec >= this.options.minWindowActiveSec) || m.clippedFraction > 0.01 || m.voicedFraction < 0.2) return false;
    this.windows.push(m);
    if (this.windows.length > this.options.maxWindows) this.windows.shift();
    return true;
  }

  get speechSeconds(): number {
    return this.windows.reduce((a, w) => a + w.activeSec, 0);
  }

  get ready(): boolean {
    return this.speechSeconds >= this.options.minSpeechSec;
  }

  /** The personal baseline when ready, else population defaults (marked `personal: false`). */
  current(): SpeakerBaseline {
    if (!this.ready) return { ...populationBaseline, speechSeconds: this.speechSeconds };
    const med = (pick: (m: AudioMeasurements) => number, fallback: number): number => {
      const v = percentile(this.windows.map(pick), 0.5);
      return Number.isFinite(v) ? v : fallback;
    };
    const p = populationBaseline;
    return {
      speechSeconds: this.speechSeconds,
      levelDbfs: med((m) => m.levelDbfs, p.levelDbfs),
      f0MedianHz: med((m) => m.f0MedianHz, p.f0MedianHz),
      f0P10Hz: med((m) => m.f0P10Hz, p.f0P10Hz),
      f0P90Hz: med((m) => m.f0P90Hz, p.f0P90Hz),
      voicedFraction: med((m) => m.voicedFraction, p.voicedFraction),
      flatness: med((m) => m.flatness, p.flatness),
      highBandRatio: med((m) => m.highBandRatio, p.highBandRatio),
      tiltDbPerOctave: med((m) => m.tiltDbPerOctave, p.tiltDbPerOctave),
      syllableRate: med((m) => m.syllableRate, p.syllableRate),
      personal: true,
    };
  }

  clear(): void {
    this.windows.length = 0;
  }
}
