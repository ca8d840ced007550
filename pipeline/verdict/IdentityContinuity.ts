/**
 * Is it still the same voice, or the same face? One participant's embedding windows (task
 * `speaker-embed` for the voice, `face-embed` for the face; L2-normalised vectors) against an
 * enrolment profile:
 *
 *   enrolling   the first K windows; the profile is their normalised mean
 *   tracking    each later window's cosine to the profile; M windows in a row below the
 *               threshold (T; T_telephone for telephone audio, T_suppressed for a sender
 *               that suppresses noise) -> `takeover`
 *   after a takeover the windows that fell below seed a new profile (the new voice or face), so
 *   a second change is caught too; the count restarts.
 *
 * K, M and T come from the model's manifest (`takeover`), chosen on tuning identities and
 * measured on held-out ones (detectors/training/speaker/README.md for voices,
 * detectors/eval/faceContinuity.ts for faces). Pure: no clock, no I/O.
 */

import type { TakeoverSpec } from '../../detectors/registry/Manifest.js';

export interface IdentityContinuityOptions {
  /** Windows averaged into the enrolment profile. */
  enrolWindows: number;
  /** Consecutive windows below the threshold that make a takeover. */
  consecutive: number;
  /** Cosine threshold (wideband audio, or faces), and for telephone audio (8 kHz, G.711). */
  threshold: number;
  thresholdTelephone: number;
  /**
   * For audio of a sender that suppresses noise (a browser microphone: the suppressor, then
   * 48 kHz Opus): absent, `threshold`.
   */
  thresholdSuppressed?: number;
}

/** What a voice window came through (the calibration families of the audio path). */
export type ContinuityChannel = 'wideband' | 'telephone' | 'suppressed';

/** The threshold of a window's channel, from a rule's per-channel thresholds (suppressed absent: the wideband one). */
export function channelThreshold(o: { threshold: number; thresholdTelephone: number; thresholdSuppressed?: number }, channel: ContinuityChannel): number {
  if (channel === 'telephone') return o.thresholdTelephone;
  return channel === 'suppressed' ? (o.thresholdSuppressed ?? o.threshold) : o.threshold;
}

/** A manifest's `takeover` rule (K, M, T and the per-channel thresholds) as continuity options. */
export function continuityOptionsFrom(rule: TakeoverSpec | undefined): Partial<IdentityContinuityOptions> {
  if (!rule) return {};
  return {
    enrolWindows: rule.K,
    consecutive: rule.M,
    threshold: rule.T,
    thresholdTelephone: rule.T_telephone ?? rule.T,
    thresholdSuppressed: rule.T_suppressed ?? rule.T,
  };
}

/** The shipped speaker model's values (detectors/models/speaker-embed/manifest.json, `takeover`). */
export const defaultVoiceContinuityOptions: IdentityContinuityOptions = {
  enrolWindows: 6,
  consecutive: 2,
  threshold: 0.66,
  thresholdTelephone: 0.65,
  thresholdSuppressed: 0.63,
};

/**
 * The shipped face model's values (detectors/models/face-embed/manifest.json, `takeover`: chosen on
 * tuning identities by detectors/eval/faceContinuity.ts). Faces have no telephone channel.
 */
export const defaultFaceContinuityOptions: IdentityContinuityOptions = {
  enrolWindows: 3,
  consecutive: 2,
  threshold: 0.71,
  thresholdTelephone: 0.71,
};

export type ContinuityResult =
  | { state: 'suspended' }
  | { state: 'enrolling'; windows: number }
  | { state: 'same'; cosine: number }
  | { state: 'below'; cosine: number; run: number }
  | { state: 'takeover'; cosine: number; windows: number };

export class IdentityContinuity {
  readonly options: IdentityContinuityOptions;
  #sum: Float64Array | undefined;
  #enrolled = 0;
  #profile: Float32Array | undefined;
  /** Windows below the threshold in a row (kept to seed the next profile). */
  #below: Float32Array[] = [];
  #takeovers = 0;
  #windows = 0;
  #suspended = false;

  constructor(options: Partial<IdentityContinuityOptions> = {}) {
    this.options = { ...defaultVoiceContinuityOptions, ...options };
    const o = this.options;
    if (!(Number.isInteger(o.enrolWindows) && o.enrolWindows >= 1 && Number.isInteger(o.consecutive) && o.consecutive >= 1)) {
      throw new RangeError('enrolWindows and consecutive must be positive integers');
    }
  }

  get takeovers(): number {
    return this.#takeovers;
  }

  get enrolled(): boolean {
    return this.#profile !== undefined;
  }

  /**
   * While suspended (the participant is answering a challenge: whispering, singing, speaking
   * oddly on purpose) windows are not compared, enrolled or counted; on resume the run of
   * low windows starts over against the same profile.
   */
  suspend(on: boolean): void {
    if (this.#suspended && !on) this.#below = [];
    this.#suspended = on;
  }

  get suspended(): boolean {
    return this.#suspended;
  }

  /** One window's embedding; `channel` selects the threshold. Non-finite vectors are ignored. */
  add(vector: Float32Array, channel: ContinuityChannel = 'wideband'): ContinuityResult {
    if (this.#suspended) return { state: 'suspended' };
    const v = normalised(vector);
    if (!v) return this.#profile ? { state: 'same', cosine: Number.NaN } : { state: 'enrolling', windows: this.#enrolled };
    this.#windows++;
    if (!this.#profile) return this.#enrol(v);
    const cosine = dot(v, this.#profile);
    if (!Number.isFinite(cosine)) return { state: 'same', cosine };
    const t = channelThreshold(this.options, channel);
    if (cosine >= t) {
      this.#below = [];
      return { state: 'same', cosine };
    }
    this.#below.push(v);
    if (this.#below.length < this.options.consecutive) return { state: 'below', cosine, run: this.#below.length };
    // A different voice: start over with what it said so far as the new profile's first windows.
    this.#takeovers++;
    const seed = this.#below;
    this.#below = [];
    this.#profile = undefined;
    this.#sum = undefined;
    this.#enrolled = 0;
    for (const s of seed) this.#enrol(s);
    return { state: 'takeover', cosine, windows: this.#windows };
  }

  #enrol(v: Float32Array): ContinuityResult {
    this.#sum ??= new Float64Array(v.length);
    if (v.length !== this.#sum.length) return { state: 'enrolling', windows: this.#enrolled };
    for (let i = 0; i < v.length; i++) this.#sum[i]! += v[i]!;
    this.#enrolled++;
    if (this.#enrolled >= this.options.enrolWindows) {
      this.#profile = normalised(Float32Array.from(this.#sum));
      this.#sum = undefined;
    }
    return { state: 'enrolling', windows: this.#enrolled };
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.NaN;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** The unit vector along `v`, or undefined for a zero or non-finite one. */
function normalised(v: Float32Array): Float32Array | undefined {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  if (!(n > 0) || !Number.isFinite(n)) return undefined;
  const k = 1 / Math.sqrt(n);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * k;
  return out;
}
