/**
 * Simulated clone answers to audio challenges, made the way a live attacker's pipeline would
 * make them (issue 17, "challenges against simulated clones"). The attacker hears the prompt,
 * answers it, and a pipeline turns the answer (or something else) into the target's voice:
 *
 * - `vc-pitch-normalised`: a vocoder voice conversion of the compliant answer. The answer's
 *   spectral envelope and timing are kept (a converter is frame-synchronous), its voicing too
 *   (the converter's f0 tracker decides voiced/unvoiced on the input), its loudness contour too;
 *   its f0 is normalised into the target's usual range (per utterance: z-scored log-f0, then the
 *   target's mean and spread), and its long-term spectrum is mapped onto the target's (the
 *   converter outputs the target's timbre, full band).
 * - `tts-usual-voice`: a TTS reads the phrase (or the words, or "la la la" for a tune) at its
 *   usual pace, converted into the target's range and timbre as above, played at the target's
 *   usual level. The TTS is espeak-ng: no neural TTS clone of these speakers exists offline, and
 *   the checkers measure prosody, level and spectrum, which the conversion sets.
 * - `replay`: a stretch of the target's own earlier speech in the call (the baseline), as long
 *   as a compliant answer.
 * - `copy-synthesis`: the compliant answer resynthesised by a source-filter vocoder (its own
 *   f0, envelope and voicing): what a converter does when it gets everything right. The
 *   checkers cannot tell it from the answer; only a passive detector could.
 *
 * These are signal models, not neural converters: a converter that imposes voicing on a
 * whisper, or normalises level, would be caught more often than these; one that follows the
 * input's f0 would pass the pitch challenges. Test fixtures: nothing here is imported by
 * production code.
 */
import type { ChallengeSpec } from '../catalogue.js';
import { analyseAudio } from '../dsp/analyse.js';
import { RealFft } from '../dsp/fft.js';
import { yinTrack } from '../dsp/yin.js';
import { render } from '../eval/labelledSet.js';
import type { SpeakerBaseline } from '../SpeakerBaseline.js';
import { lpcResynth, pulseExcitation, rms, SR, type LoadedSpeaker } from './realSpeech.js';
import { concat } from './signals.js';

export const clonePipelines = ['vc-pitch-normalised', 'tts-usual-voice', 'replay', 'copy-synthesis'] as const;
export type ClonePipeline = (typeof clonePipelines)[number];

/** What the attacker's pipeline knows of the target: learned from the target's speech in the call. */
export interface TargetVoice {
  /** Mean and standard deviation of voiced log-f0, semitones re 1 Hz. */
  f0MeanSemitones: number;
  f0SdSemitones: number;
  /** Long-term average power spectrum of active speech, FFT_SIZE / 2 + 1 bins. */
  ltas: Float64Array;
  /** The target's earlier speech, for replay. */
  speech: Float32Array;
  /** The caller's active speech level, dBFS (the service's own measurement). */
  levelDbfs: number;
}

const FFT_SIZE = 512;
const HOP = 160;
const semis = (hz: number): number => 12 * Math.log2(hz);

function voicedSemitones(x: Float32Array): number[] {
  const out: number[] = [];
  for (const f of yinTrack(x, { sampleRate: SR, hop: HOP }).f0) if (Number.isFinite(f) && f > 0) out.push(semis(f));
  return out;
}

function meanSd(v: readonly number[]): { mean: number; sd: number } {
  const mean = v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, v.length - 1));
  return { mean, sd };
}

/** Long-term average spectrum of the frames within 30 dB of the loudest. */
export function ltas(x: Float32Array): Float64Array {
  const fft = new RealFft(FFT_SIZE);
  const frames: Float64Array[] = [];
  const energy: number[] = [];
  for (let o = 0; o + FFT_SIZE <= x.length; o += FFT_SIZE / 2) {
    const p = new Float64Array(fft.bins);
    fft.powerSpectrum(x, o, p);
    frames.push(p);
    energy.push(p.reduce((a, b) => a + b, 0));
  }
  const top = Math.max(...energy, 1e-20);
  const out = new Float64Array(fft.bins);
  let n = 0;
  frames.forEach((p, i) => {
    if ((energy[i] ?? 0) < top * 1e-3) return;
    for (let k = 0; k < out.length; k++) out[k] = (out[k] ?? 0) + (p[k] ?? 0);
    n++;
  });
  for (let k = 0; k < out.length; k++) out[k] = (out[k] ?? 0) / Math.max(1, n) + 1e-20;
  return out;
}

export function targetVoice(sp: LoadedSpeaker, baseline: SpeakerBaseline): TargetVoice {
  const speech = concat(...sp.baseline);
  const { mean, sd } = meanSd(voicedSemitones(speech));
  return { f0MeanSemitones: mean, f0SdSemitones: sd, ltas: ltas(speech), speech, levelDbfs: baseline.levelDbfs };
}

/** `pulseExcitation` following a YIN track (`f0Hz` per frame, NaN unvoiced: noise there). */
function excitation(f0Hz: Float32Array, seed: number): (n: number, residualRms: number) => number {
  // YIN frame f covers [f hop, f hop + 400): its f0 belongs near f hop + 200.
  return pulseExcitation((n) => f0Hz[Math.max(0, Math.min(f0Hz.length - 1, Math.round((n - 200) / HOP)))] ?? Number.NaN, seed);
}

/** Linear-phase FIR (511 taps, Hann-windowed frequency sampling) with magnitude `gain[k]` on FFT_SIZE bins. */
function firFromGains(gain: Float64Array): Float64Array {
  const taps = FFT_SIZE - 1;
  const mid = (taps - 1) / 2;
  const h = new Float64Array(taps);
  for (let n = 0; n < taps; n++) {
    let acc = gain[0] ?? 0;
    for (let k = 1; k < gain.length - 1; k++) acc += 2 * (gain[k] ?? 0) * Math.cos((2 * Math.PI * k * (n - mid)) / FFT_SIZE);
    acc += (gain[gain.length - 1] ?? 0) * Math.cos(Math.PI * (n - mid));
    h[n] = (acc / FFT_SIZE) * (0.5 - 0.5 * Math.cos((2 * Math.PI * (n + 1)) / (taps + 1)));
  }
  return h;
}

function convolveSame(x: Float32Array, h: Float64Array): Float32Array {
  const mid = (h.length - 1) >> 1;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let acc = 0;
    const k0 = Math.max(0, i + mid - (x.length - 1));
    const k1 = Math.min(h.length - 1, i + mid);
    for (let k = k0; k <= k1; k++) acc += (h[k] ?? 0) * (x[i + mid - k] ?? 0);
    out[i] = acc;
  }
  return out;
}

/**
 * `x` filtered so that its long-term spectrum matches `target`: the gain per bin is the square
 * root of the power ratio, smoothed over +-4 bins (+-125 Hz) in dB and held within +-60 dB.
 */
export function matchSpectrum(x: Float32Array, target: Float64Array): Float32Array {
  const own = ltas(x);
  const db = Array.from(own, (p, k) => 10 * Math.log10((target[k] ?? 1e-20) / p));
  const gain = new Float64Array(own.length);
  for (let k = 0; k < own.length; k++) {
    let s = 0;
    let n = 0;
    for (let j = Math.max(0, k - 4); j <= Math.min(own.length - 1, k + 4); j++, n++) s += db[j] ?? 0;
    gain[k] = 10 ** (Math.max(-60, Math.min(60, s / n)) / 20);
  }
  return convolveSame(x, firFromGains(gain));
}

function scaledTo(x: Float32Array, targetRms: number): Float32Array {
  const g = targetRms / Math.max(1e-12, rms(x));
  return x.map((v) => v * g);
}

/** The compliant answer through the source-filter vocoder with its own f0 (copy-synthesis). */
export function copySynthesis(x: Float32Array, seed = 1): Float32Array {
  const f0 = yinTrack(x, { sampleRate: SR, hop: HOP }).f0;
  return lpcResynth(x, excitation(f0, seed), { gamma: 0.99, gainDb: 0 });
}

/** A pitch-normalising vocoder voice conversion of `x` into `target` (see the file comment). */
export function voiceConvert(x: Float32Array, target: TargetVoice, seed = 1): Float32Array {
  const f0 = yinTrack(x, { sampleRate: SR, hop: HOP }).f0;
  const src = meanSd(Array.from(f0).filter((f) => f > 0).map(semis));
  const mapped = f0.map((f) => (f > 0 ? 2 ** ((target.f0MeanSemitones + ((semis(f) - src.mean) / Math.max(0.1, src.sd)) * target.f0SdSemitones) / 12) : Number.NaN));
  const voiced = lpcResynth(x, excitation(mapped, seed), { gamma: 0.99, gainDb: 0 });
  return scaledTo(matchSpectrum(voiced, target.ltas), rms(x));
}

/** What a TTS would be asked to say for this challenge. */
export function ttsText(spec: ChallengeSpec, answeredPhrase: string | undefined): string {
  if (spec.params.melody) return spec.params.melody.map(() => 'la').join(' ');
  if (spec.params.words) return spec.params.words.join(', ');
  return answeredPhrase ?? spec.params.phrase ?? '';
}

/** espeak-ng reads the text at its usual pace (twice, with a pause, for the read-twice challenges), converted to the target. */
export function ttsAnswer(kind: string, text: string, target: TargetVoice, seed = 1): Float32Array {
  const once = render(text, ['-v', 'en-us', '-s', '165']);
  const speech = kind === 'read-quickly' || kind === 'read-slowly' ? concat(once, new Float32Array(Math.round(0.8 * SR)), once) : once;
  const converted = voiceConvert(speech, target, seed);
  // Played at the target's usual active level (the service's own level measurement).
  const level = analyseAudio(converted, { sampleRate: SR }).measurements.levelDbfs;
  const g = 10 ** ((target.levelDbfs - level) / 20);
  return converted.map((v) => v * g);
}

/** `seconds` of the target's earlier speech, starting at a point picked by `variant`. */
export function replay(target: TargetVoice, seconds: number, variant: number): Float32Array {
  const len = Math.min(target.speech.length, Math.round(seconds * SR));
  const room = target.speech.length - len;
  const start = room > 0 ? Math.round(((variant * 0.37) % 1) * room) : 0;
  return target.speech.slice(start, start + len);
}
