/**
 * Declared synthetic voices: voices an operator registered as legitimate although synthetic
 * (a bank's IVR, a caller who speaks through text-to-speech). Each is a speaker-embedding
 * profile (the L2-normalised mean of its reference windows, task `speaker-embed`).
 *
 *   DeclaredVoiceSet      the registered profiles (shared by every participant; replaced whole on change)
 *   DeclaredVoiceMatcher  one participant: M windows in a row with a cosine >= T to one voice
 *                         -> matched (that voice); M windows in a row below T -> unmatched
 *
 * M and T are the speaker model's own (its manifest's `declared` rule, chosen on tuning speakers
 * for a low false-match rate: detectors/training/speaker/declared_eval.py, docs/continuity.md).
 * A false match sets a participant's voice evidence aside, so the rule errs towards not matching.
 * Pure: no clock, no I/O.
 */

import type { DeclaredSpec } from '../../detectors/registry/Manifest.js';
import { channelThreshold, type ContinuityChannel } from './IdentityContinuity.js';

export interface DeclaredVoice {
  id: string;
  label: string;
  /** L2-normalised profile, the speaker model's dimension. */
  profile: Float32Array;
}

export interface DeclaredVoiceRule {
  /** Windows in a row at or above the threshold that make a match (and below it that end one). */
  consecutive: number;
  /** Cosine threshold (wideband), and for telephone audio. */
  threshold: number;
  thresholdTelephone: number;
  /** For a noise-suppressing (browser) sender's speech; absent: `threshold`. */
  thresholdSuppressed?: number;
}

/** A manifest's `declared` rule (M, T and the per-channel thresholds) as matcher options. */
export function declaredRuleFrom(rule: DeclaredSpec | undefined): Partial<DeclaredVoiceRule> {
  if (!rule) return {};
  return { consecutive: rule.M, threshold: rule.T, thresholdTelephone: rule.T_telephone ?? rule.T, thresholdSuppressed: rule.T_suppressed ?? rule.T };
}

/** The shipped speaker model's rule (detectors/models/speaker-embed/manifest.json, `declared`). */
export const defaultDeclaredVoiceRule: DeclaredVoiceRule = { consecutive: 2, threshold: 0.65, thresholdTelephone: 0.665, thresholdSuppressed: 0.68 };

/** L2-normalised mean of equal-length vectors; undefined when there are none or they sum to zero. */
export function voiceProfile(vectors: readonly Float32Array[]): Float32Array | undefined {
  const first = vectors[0];
  if (!first) return undefined;
  const sum = new Float64Array(first.length);
  for (const v of vectors) {
    if (v.length !== first.length) throw new RangeError('vectors of different lengths');
    for (let i = 0; i < v.length; i++) sum[i]! += v[i]!;
  }
  let norm = 0;
  for (const x of sum) norm += x * x;
  norm = Math.sqrt(norm);
  if (!(norm > 0)) return undefined;
  return Float32Array.from(sum, (x) => x / norm);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export class DeclaredVoiceSet {
  readonly voices: readonly DeclaredVoice[];

  constructor(voices: readonly DeclaredVoice[] = []) {
    this.voices = [...voices];
  }

  get size(): number {
    return this.voices.length;
  }

  /** The most similar voice of the same dimension, with its cosine; undefined when none is comparable. */
  closest(vector: Float32Array): { voice: DeclaredVoice; cosine: number } | undefined {
    let best: { voice: DeclaredVoice; cosine: number } | undefined;
    for (const voice of this.voices) {
      if (voice.profile.length !== vector.length) continue;
      const cosine = dot(voice.profile, vector);
      if (!best || cosine > best.cosine) best = { voice, cosine };
    }
    return best;
  }
}

export type DeclaredMatch = { voice: DeclaredVoice; cosine: number } | undefined;

export class DeclaredVoiceMatcher {
  readonly rule: DeclaredVoiceRule;
  #matched: DeclaredVoice | undefined;
  /** Candidate voice and how many windows in a row reached it. */
  #candidate: { id: string; run: number } | undefined;
  #below = 0;

  constructor(rule: Partial<DeclaredVoiceRule> = {}) {
    this.rule = { ...defaultDeclaredVoiceRule, ...rule };
    if (!(Number.isInteger(this.rule.consecutive) && this.rule.consecutive >= 1)) throw new RangeError('consecutive must be a positive integer');
  }

  /** The voice this participant matches now, if any. */
  get matched(): DeclaredVoice | undefined {
    return this.#matched;
  }

  /**
   * One speech window's embedding against the declared voices. Returns whether the match changed
   * (to another voice, or to none), with the cosine of this window to the voice it concerns.
   */
  add(vector: Float32Array, set: DeclaredVoiceSet, channel: ContinuityChannel = 'wideband'): { changed: boolean; cosine: number } {
    const threshold = channelThreshold(this.rule, channel);
    // The set is replaced whole on every change: the matched voice is looked up again; a removed one no longer matches.
    if (this.#matched) {
      const id = this.#matched.id;
      this.#matched = set.voices.find((v) => v.id === id);
      if (!this.#matched) {
        this.#candidate = undefined;
        this.#below = 0;
        return { changed: true, cosine: 0 };
      }
    }
    const best = set.closest(vector);
    const cosine = best?.cosine ?? 0;
    if (this.#matched) {
      const toMatched = dot(this.#matched.profile, vector);
      if (toMatched >= threshold) {
        this.#below = 0;
        return { changed: false, cosine: toMatched };
      }
      this.#below++;
      if (this.#below < this.rule.consecutive) return { changed: false, cosine: toMatched };
      this.#matched = undefined;
      this.#below = 0;
      this.#candidate = undefined;
      return { changed: true, cosine: toMatched };
    }
    if (!best || cosine < threshold) {
      this.#candidate = undefined;
      return { changed: false, cosine };
    }
    const run = this.#candidate?.id === best.voice.id ? this.#candidate.run + 1 : 1;
    this.#candidate = { id: best.voice.id, run };
    if (run < this.rule.consecutive) return { changed: false, cosine };
    this.#matched = best.voice;
    this.#candidate = undefined;
    return { changed: true, cosine };
  }
}
