/**
 * Real speech for the audio challenge checkers: recordings of real people shipped in Debian
 * packages, decoded to 16 kHz mono, split into a baseline (the caller's normal speech before
 * a challenge) and other utterances of the same person that are rendered into compliant and
 * non-compliant responses to each challenge.
 *
 * Speakers (both 16 kHz, both installed by `scripts/bootstrap.sh --test`):
 * - `pocketsphinx-testdata` (1.8 MB): a LibriVox reader (male, read "Sense and Sensibility"),
 *   five utterances, 24.7 s, from a 64 kbit/s MP3 of a home recording;
 * - `asterisk-core-sounds-en-g722` (10.6 MB): "Allison", the female US voice of Asterisk's
 *   prompts, studio recordings coded as G.722 (ffmpeg decodes them).
 *
 * Renderings of a real utterance (labels come from how a response was made, never from a checker):
 * - whisper: LPC analysis of the real utterance, resynthesised from noise (no voicing at all),
 *   with widened formant bandwidths as in whispered speech (`lpcWhisper`);
 * - level: sox gain; each session is played at its `sessionGainDb`, so +10 dB stays unclipped
 *   (one loud rendering goes through sox's limiter instead, as from a hot microphone);
 * - pitch: sox pitch (cents);
 * - rate: the utterance read twice, the second time through sox tempo -s (WSOLA, pitch kept),
 *   after a 0.5-1.2 s pause;
 * - cupped hands: a cavity resonance plus a steep low-pass (sox), the highs 15-30 dB down;
 * - melody: sox hums in the speaker's register, and the real utterance resung on the tune
 *   (its LPC envelope re-excited by a pulse train that follows the notes, `lpcSing`).
 * Transcripts (for the syllable counts the word check needs) come from the packages
 * (`transcription` files, asterisk's core-sounds-en.txt); syllables were counted by hand.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChallengeSpec } from '../catalogue.js';
import { defaultChallengeManagerOptions } from '../ChallengeManagerOptions.js';
import { analyseAudio } from '../dsp/analyse.js';
import type { MelodyNote } from '../dsp/melody.js';
import { midiToHz } from '../dsp/melody.js';
import { parseWav, resample } from '../dsp/wav.js';
import { hum, sox } from '../eval/labelledSet.js';
import { BaselineTracker, type SpeakerBaseline } from '../SpeakerBaseline.js';
import { concat } from './signals.js';

export const SR = 16000;

export interface RealUtterance {
  /** File name without extension. */
  name: string;
  text: string;
  /** Hand-counted syllables of `text`. */
  syllables: number;
}

export interface RealSpeakerSource {
  id: string;
  /** The Debian package that ships the recordings. */
  debianPackage: string;
  description: string;
  dir: string;
  format: 'wav' | 'g722';
  /** Normal speech before the challenge (about 11-13 s). */
  baseline: readonly RealUtterance[];
  /** Other utterances of the same person, rendered into responses. */
  responses: readonly RealUtterance[];
  /** Semitones from the catalogue's tunes (G3..E4) to this person's comfortable hum. */
  humRegister: number;
  /**
   * The caller's microphone level for the whole session (baseline and responses), dB: the
   * recordings are mastered hot (peaks at -3 dBFS for Allison, -6 dBFS for the reader); this
   * puts their loudest peak near -12 dBFS, so a loud answer (+10 dB) stays unclipped, and
   * their active level near a call's usual -26..-29 dBFS.
   */
  sessionGainDb: number;
}

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
const ALLISON = '/usr/share/asterisk/sounds/en_US_f_Allison';

export const realSpeakerSources: readonly RealSpeakerSource[] = [
  {
    id: 'librivox-reader',
    debianPackage: 'pocketsphinx-testdata',
    description: 'LibriVox reader, male, read speech, 64 kbit/s MP3 source, 16 kHz',
    dir: LIBRIVOX,
    format: 'wav',
    baseline: [
      { name: 'sense_and_sensibility_01_austen_64kb-0870', text: 'and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them', syllables: 29 },
      { name: 'sense_and_sensibility_01_austen_64kb-0920', text: 'had he married a more a amiable woman he might have been made still more respectable than he was', syllables: 27 },
    ],
    responses: [
      { name: 'sense_and_sensibility_01_austen_64kb-0880', text: 'he was not an ill disposed young man', syllables: 9 },
      { name: 'sense_and_sensibility_01_austen_64kb-0890', text: 'unless to be rather cold hearted and rather selfish is to be ill disposed', syllables: 20 },
      { name: 'sense_and_sensibility_01_austen_64kb-0930', text: 'he might even have been made amiable himself', syllables: 13 },
    ],
    humRegister: -12,
    sessionGainDb: -6,
  },
  {
    id: 'asterisk-allison',
    debianPackage: 'asterisk-core-sounds-en-g722',
    description: 'Asterisk prompt voice "Allison", female US English, studio, G.722 16 kHz',
    dir: ALLISON,
    format: 'g722',
    baseline: [
      { name: 'agent-alreadyon', text: 'That agent is already logged on. Please enter your agent number followed by the pound key.', syllables: 25 },
      { name: 'demo-thanks', text: 'Goodbye. Thank you for trying out the Asterisk Open Source PBX.', syllables: 18 },
    ],
    responses: [
      { name: 'tt-weasels', text: 'Weasels have eaten our phone system', syllables: 9 },
      { name: 'demo-nomatch', text: "I'm sorry there are no matches for those keywords", syllables: 12 },
      { name: 'privacy-prompt', text: 'Please enter your phone number, starting with the area code.', syllables: 15 },
      { name: 'vm-nobodyavail', text: 'Nobody is available to take your call at the moment', syllables: 16 },
      { name: 'conf-onlyone', text: 'There is currently one other participant in the conference.', syllables: 17 },
      { name: 'ss-noservice', text: 'The number you have dialed is not in service. Please check the number and try again.', syllables: 21 },
    ],
    humRegister: 0,
    sessionGainDb: -10,
  },
];

/** Short real non-answers ("no", "goodbye"), where a speaker's package has them. */
export const realNonAnswers: Readonly<Record<string, readonly RealUtterance[]>> = {
  'asterisk-allison': [
    { name: 'vm-no', text: 'no', syllables: 1 },
    { name: 'vm-goodbye', text: 'Goodbye', syllables: 2 },
  ],
};

function path(src: RealSpeakerSource, u: RealUtterance): string {
  return join(src.dir, `${u.name}.${src.format}`);
}

/** For the eval scripts: false (and exit code 2, with what to install) when the recordings are missing. */
export function realSpeechInstalled(): boolean {
  const missing = missingRealSpeech();
  if (missing.length === 0) return true;
  process.stderr.write(`real speech not installed: apt-get install ${missing.join(' ')}\n`);
  process.exitCode = 2;
  return false;
}

/** Debian packages whose recordings are missing here (an empty list: everything is installed). */
export function missingRealSpeech(sources: readonly RealSpeakerSource[] = realSpeakerSources): string[] {
  const missing = new Set<string>();
  for (const s of sources) {
    for (const u of [...s.baseline, ...s.responses]) if (!existsSync(path(s, u))) missing.add(s.debianPackage);
    if (s.format === 'g722') {
      try {
        execFileSync('ffmpeg', ['-hide_banner', '-version'], { stdio: 'ignore' });
      } catch {
        missing.add('ffmpeg');
      }
    }
  }
  return [...missing];
}

const cache = new Map<string, Float32Array>();



/** One recording as heard in the call: `loadRecording` at the speaker's `sessionGainDb`. */
export function sessionRecording(src: RealSpeakerSource, u: RealUtterance): Float32Array {
  const g = 10 ** (src.sessionGainDb / 20);
  return loadRecording(src, u).map((v) => v * g);
}

/** One recording as 16 kHz mono float samples (WAV read here, G.722 decoded by ffmpeg), as recorded. */
export function loadRecording(src: RealSpeakerSource, u: RealUtterance): Float32Array {
  const p = path(src, u);
  const hit = cache.get(p);
  if (hit) return hit;
  let out: Float32Array;
  if (src.format === 'wav') {
    const clip = parseWav(readFileSync(p));
    out = resample(clip.samples, clip.sampleRate, SR);
  } else {
    const raw = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'g722', '-i', p, '-f', 'f32le', '-ac', '1', '-ar', String(SR), '-'], { maxBuffer: 64 << 20 });
    out = new Float32Array(raw.buffer, raw.byteOffset, Math.floor(raw.byteLength / 4)).slice();
  }
  cache.set(p, out);
  return out;
}

/** Runs a sox effects chain on 16 kHz float samples. */
export function soxRender(x: Float32Array, effects: string[]): Float32Array {
  return sox(Buffer.from(x.buffer, x.byteOffset, x.byteLength), 'f32', effects);
}

// ---------------------------------------------------------------- LPC vocoder

export interface LpcOptions {
  /** Prediction order (about 1 per kHz of bandwidth + 2..4). */
  order: number;
  /** Analysis window, samples (Hann). */
  frame: number;
  /** Coefficients are updated every `hop` samples. */
  hop: number;
  preEmphasis: number;
  /** Formant bandwidth widening: a_k *= gamma^k (1 = none). */
  gamma: number;
  /** Output level relative to the input's RMS, dB. */
  gainDb: number;
  /** Noise seed (deterministic renderings). */
  seed: number;
}

export const defaultLpcOptions: LpcOptions = { order: 20, frame: 400, hop: 80, preEmphasis: 0.97, gamma: 0.97, gainDb: -6, seed: 1 };

/** Levinson-Durbin: autocorrelation r[0..p] -> a[0..p] (a[0] = 1). */
function levinson(r: Float64Array, p: number): Float64Array {
  const a = new Float64Array(p + 1);
  const tmp = new Float64Array(p + 1);
  a[0] = 1;
  let err = r[0] ?? 0;
  if (!(err > 0)) return a;
  for (let i = 1; i <= p; i++) {
    let acc = r[i] ?? 0;
    for (let j = 1; j < i; j++) acc += (a[j] ?? 0) * (r[i - j] ?? 0);
    const k = -acc / err;
    tmp.set(a);
    for (let j = 1; j < i; j++) a[j] = (tmp[j] ?? 0) + k * (tmp[i - j] ?? 0);
    a[i] = k;
    err *= 1 - k * k;
    if (!(err > 0)) break;
  }
  return a;
}

/** Deterministic standard normal noise (xorshift32 + Box-Muller). */
function gaussian(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const u = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

export function rms(x: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += (x[i] ?? 0) ** 2;
  return Math.sqrt(e / Math.max(1, x.length));
}

/**
 * Source-filter resynthesis: the real utterance's spectral envelope (LPC, updated every hop)
 * and its residual energy, with the excitation replaced by `excite(n, residualRms)`.
 */
export function lpcResynth(x: Float32Array, excite: (n: number, residualRms: number) => number, options: Partial<LpcOptions>): Float32Array {
  const o = { ...defaultLpcOptions, ...options };
  const n = x.length;
  const pre = new Float64Array(n);
  for (let i = 0; i < n; i++) pre[i] = (x[i] ?? 0) - o.preEmphasis * (i > 0 ? (x[i - 1] ?? 0) : 0);
  const win = new Float64Array(o.frame);
  for (let i = 0; i < o.frame; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (o.frame - 1));
  const seg = new Float64Array(o.frame);
  const r = new Float64Array(o.order + 1);
  const y = new Float64Array(n);
  for (let start = 0; start < n; start += o.hop) {
    const centre = start + (o.hop >> 1);
    const from = centre - (o.frame >> 1);
    for (let i = 0; i < o.frame; i++) {
      const k = from + i;
      seg[i] = k >= 0 && k < n ? (pre[k] ?? 0) * (win[i] ?? 0) : 0;
    }
    for (let lag = 0; lag <= o.order; lag++) {
      let acc = 0;
      for (let i = lag; i < o.frame; i++) acc += (seg[i] ?? 0) * (seg[i - lag] ?? 0);
      // White-noise correction and a Gaussian lag window keep the filter stable.
      r[lag] = lag === 0 ? acc * (1 + 1e-4) + 1e-12 : acc * Math.exp(-0.5 * ((2 * Math.PI * 40 * lag) / SR) ** 2);
    }
    const a = levinson(r, o.order);
    const end = Math.min(n, start + o.hop);
    // Residual of this hop through the inverse filter A(z), on the real past samples.
    let e2 = 0;
    for (let i = start; i < end; i++) {
      let e = pre[i] ?? 0;
      for (let k = 1; k <= o.order; k++) if (i - k >= 0) e += (a[k] ?? 0) * (pre[i - k] ?? 0);
      e2 += e * e;
    }
    const resRms = Math.sqrt(e2 / Math.max(1, end - start));
    for (let k = 1; k <= o.order; k++) a[k] = (a[k] ?? 0) * o.gamma ** k;
    for (let i = start; i < end; i++) {
      let v = excite(i, resRms);
      for (let k = 1; k <= o.order; k++) if (i - k >= 0) v -= (a[k] ?? 0) * (y[i - k] ?? 0);
      y[i] = v;
    }
  }
  // De-emphasis, then the level asked for.
  const out = new Float32Array(n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    prev = (y[i] ?? 0) + o.preEmphasis * prev;
    out[i] = prev;
  }
  const g = (rms(x) / Math.max(1e-12, rms(out))) * 10 ** (o.gainDb / 20);
  for (let i = 0; i < n; i++) out[i] = (out[i] ?? 0) * g;
  return out;
}

/** The utterance whispered: same envelope and energy, noise instead of the glottal source. */
export function lpcWhisper(x: Float32Array, options: Partial<LpcOptions> = {}): Float32Array {
  const noise = gaussian(options.seed ?? defaultLpcOptions.seed);
  return lpcResynth(x, (_, resRms) => resRms * noise(), { gamma: 0.94, ...options });
}

/**
 * The LPC vocoder's voiced source for `lpcResynth`: a pulse train whose f0 follows `f0At(sampleIndex)`
 * (Hz) with a little aspiration noise; where `f0At` is not a positive number, noise (unvoiced).
 */
export function pulseExcitation(f0At: (n: number) => number, seed: number): (n: number, residualRms: number) => number {
  const noise = gaussian(seed);
  let phase = 1;
  return (n, resRms) => {
    const f0 = f0At(n);
    if (!(f0 > 0)) return resRms * noise();
    phase += f0 / SR;
    let pulse = 0;
    if (phase >= 1) {
      phase -= 1;
      pulse = Math.sqrt(SR / f0);
    }
    return resRms * (0.95 * pulse + 0.1 * noise());
  };
}

/** The utterance resung on a tune: its envelope excited by `pulseExcitation` on the tune, the way a person sings the words. */
export function lpcSing(x: Float32Array, f0At: (n: number) => number, options: Partial<LpcOptions> = {}): Float32Array {
  return lpcResynth(x, pulseExcitation(f0At, (options.seed ?? defaultLpcOptions.seed) + 7), { gainDb: 0, ...options });
}

/** [first, last) samples of the speech in `x`: frames within 40 dB of the loudest. */
export function speechSpan(x: Float32Array, frame = 160): { start: number; end: number } {
  const levels: number[] = [];
  for (let i = 0; i + frame <= x.length; i += frame) levels.push(rms(x.subarray(i, i + frame)));
  const top = Math.max(...levels, 1e-9);
  const on = levels.map((l) => l > top * 0.01);
  const first = on.indexOf(true);
  const last = on.lastIndexOf(true);
  return first < 0 ? { start: 0, end: x.length } : { start: first * frame, end: Math.min(x.length, (last + 1) * frame) };
}

/** A tune's notes spread evenly over the speech of `x`, as Hz per sample. */
export function tuneOver(x: Float32Array, notes: readonly MelodyNote[], shift: number): (n: number) => number {
  const { start, end } = speechSpan(x);
  const hz = notes.map((m) => midiToHz(m.midi + shift));
  const first = hz[0] ?? 200;
  const last = hz[hz.length - 1] ?? 200;
  return (n) => {
    if (n < start) return first;
    if (n >= end) return last;
    return hz[Math.min(hz.length - 1, Math.floor(((n - start) / (end - start)) * hz.length))] ?? first;
  };
}

/** The same tune turned upside down around its mean: same notes' spread, opposite shape. */
export function mirroredTune(notes: readonly MelodyNote[]): MelodyNote[] {
  const mean = notes.reduce((a, n) => a + n.midi, 0) / Math.max(1, notes.length);
  return notes.map((n) => ({ ...n, midi: Math.round(2 * mean - n.midi) }));
}

// ---------------------------------------------------------------- responses

export interface LoadedSpeaker {
  source: RealSpeakerSource;
  /** The baseline utterances, each as recorded. */
  baseline: Float32Array[];
}

export function loadSpeaker(source: RealSpeakerSource): LoadedSpeaker {
  return { source, baseline: source.baseline.map((u) => sessionRecording(source, u)) };
}

/**
 * The speaker's baseline as the service builds it: the baseline utterances back to back, cut
 * into `baselineChunkSec` chunks (ChallengeManager's default), each analysed and added to a
 * BaselineTracker (a trailing partial chunk is never analysed, as in a call).
 */
export function realBaseline(sp: LoadedSpeaker, chunkSec = defaultChallengeManagerOptions.baselineChunkSec): SpeakerBaseline {
  const tracker = new BaselineTracker();
  const speech = concat(...sp.baseline);
  const chunk = Math.round(chunkSec * SR);
  for (let o = 0; o + chunk <= speech.length; o += chunk) tracker.add(analyseAudio(speech.subarray(o, o + chunk), { sampleRate: SR }).measurements);
  return tracker.current();
}

export interface RealResponse {
  speaker: string;
  utterance: string;
  compliant: boolean;
  /**
   * Non-compliant responses only: the speaker's usual voice or a near miss (untouched, +-1 dB,
   * +50 cents...). The checkers leave an `unclear` band between pass and fail, and real
   * sentence-to-sentence variation can put these in it; `false`: clearly the wrong thing.
   */
  near: boolean;
  /** How it was made, shown in reports. */
  recipe: string;
  samples: Float32Array;
}

/** The challenges `realResponses` has renderings for. */
export const realSpeechKinds = ['whisper-phrase', 'speak-softly', 'speak-loudly', 'high-pitch', 'cupped-mouth', 'read-quickly', 'read-slowly', 'sing-melody', 'unusual-words'] as const;

/** The response utterance for the word challenge: the one whose syllable count is nearest the asked words'. */
export function wordsUtterance(source: RealSpeakerSource, syllables: number): RealUtterance {
  let best = source.responses[0];
  for (const u of source.responses) if (best === undefined || Math.abs(u.syllables - syllables) < Math.abs(best.syllables - syllables)) best = u;
  if (!best) throw new RangeError(`${source.id} has no response utterances`);
  return best;
}

/**
 * The challenge parameters as the caller answered them: for a phrase challenge the caller
 * reads the phrase asked, and here the "asked" phrase is the recording's own text.
 */
export function answeredParams(spec: ChallengeSpec, u: RealUtterance): ChallengeSpec['params'] {
  return spec.params.phrase !== undefined ? { ...spec.params, phrase: u.text, syllables: u.syllables } : spec.params;
}

/**
 * Compliant and non-compliant renderings of one real utterance for one issued challenge.
 * For `unusual-words` the utterance is chosen by `wordsUtterance` (the caller reads the words
 * asked, so their syllable count is what matters), `u` is ignored.
 */
export function realResponses(kind: string, spec: ChallengeSpec, sp: LoadedSpeaker, u: RealUtterance, variant = 0): RealResponse[] {
  const src = sp.source;
  const x = sessionRecording(src, u);
  const make = (compliant: boolean, near: boolean, recipe: string, samples: Float32Array, utterance = u.name): RealResponse => ({ speaker: src.id, utterance, compliant, near, recipe, samples });
  const usual = make(false, true, 'untouched utterance', x);
  const contrary = (recipe: string, samples: Float32Array): RealResponse => make(false, false, recipe, samples);
  const fx = (label: 'compliant' | 'near' | 'contrary', effects: string[]): RealResponse =>
    make(label === 'compliant', label === 'near', `sox ${effects.join(' ')}`, soxRender(x, effects));
  switch (kind) {
    case 'whisper-phrase':
      // A whisper is unvoiced; any voiced rendering is clearly not one.
      return [make(true, false, 'LPC resynthesis from noise (whispered)', lpcWhisper(x, { seed: 1 + variant })), contrary('untouched utterance (voiced)', x), fx('contrary', ['gain', '-10'])];
    case 'speak-softly':
      return [fx('compliant', ['gain', '-12']), fx('compliant', ['gain', '-8']), usual, fx('near', ['gain', '-1']), fx('contrary', ['gain', '6'])];
    case 'speak-loudly':
      // Unclipped thanks to sessionGainDb; the limited variant is what a hot microphone gives.
      return [fx('compliant', ['gain', '10']), fx('compliant', ['gain', '8']), fx('compliant', ['gain', '-l', '18']), usual, fx('near', ['gain', '1']), fx('contrary', ['gain', '-6'])];
    case 'high-pitch':
      return [fx('compliant', ['pitch', '500']), fx('compliant', ['pitch', '700']), fx('compliant', ['pitch', '1000']), usual, fx('near', ['pitch', '50']), fx('contrary', ['pitch', '-300'])];
    case 'cupped-mouth':
      // Hands cupped round the mouth: a cavity resonance near 600-800 Hz and the highs strongly cut.
      return [
        fx('compliant', ['equalizer', '600', '1q', '6', 'lowpass', '1000', 'lowpass', '1000']),
        fx('compliant', ['equalizer', '800', '1q', '4', 'sinc', '-1500']),
        contrary('untouched utterance (full band)', x),
        fx('near', ['treble', '-3']),
      ];
    case 'read-quickly':
    case 'read-slowly': {
      // Read twice: the real utterance, a pause, then its sox-tempo rendering (the same text).
      const pause = new Float32Array(Math.round(([0.5, 0.8, 1.2][variant % 3] ?? 0.8) * SR));
      const twice = (label: 'compliant' | 'near' | 'contrary', tempo: string): RealResponse =>
        make(label === 'compliant', label === 'near', `utterance, pause, ${tempo === '1' ? 'utterance again' : `sox tempo -s ${tempo}`}`, concat(x, pause, tempo === '1' ? x : soxRender(x, ['tempo', '-s', tempo])));
      const one = make(false, true, 'one reading only (untouched utterance)', x);
      return kind === 'read-quickly'
        ? [twice('compliant', '1.5'), twice('compliant', '1.8'), twice('near', '1'), twice('near', '1.05'), twice('contrary', '0.8'), one]
        : [twice('compliant', '0.55'), twice('compliant', '0.65'), twice('near', '1'), twice('near', '0.95'), twice('contrary', '1.4'), one];
    }
    case 'sing-melody': {
      const tune = spec.params.melody ?? [];
      const r = src.humRegister;
      const waves = ['sawtooth', 'triangle'];
      const wave = waves[variant % waves.length] ?? 'sawtooth';
      const monotone = tune.map((n) => ({ ...n, midi: tune[0]?.midi ?? 60 }));
      return [
        make(true, false, `sox ${wave} hum of the tune, register ${r}`, hum(tune, r, 0.5, wave)),
        make(true, false, 'the utterance resung on the tune (LPC, pulse excitation)', lpcSing(x, tuneOver(x, tune, r))),
        contrary('untouched utterance (spoken, not sung)', x),
        contrary(`sox ${wave} hum of the tune mirrored`, hum(mirroredTune(tune), r, 0.5, wave)),
        contrary('sox hum on one note', hum(monotone, r, 0.5, wave)),
        contrary('the utterance resung on the mirrored tune', lpcSing(x, tuneOver(x, mirroredTune(tune), r))),
      ];
    }
    case 'unusual-words': {
      const w = wordsUtterance(src, spec.params.syllables ?? 1);
      return [
        make(true, false, `real utterance, ${w.syllables} syllables for ${spec.params.syllables ?? 0} asked`, sessionRecording(src, w), w.name),
        contrary('hummed one long note instead (sox)', hum([{ midi: 57, durationSec: 2 }], src.humRegister, 2, 'sawtooth')),
      ];
    }
    default:
      throw new RangeError(`no real-speech renderings for ${kind}`);
  }
}

/** Silence around a response, as in a response window. */
export function padded(x: Float32Array, sec = 0.3): Float32Array {
  const pad = new Float32Array(Math.round(sec * SR));
  return concat(pad, x, pad);
}

/** A short real non-answer of `speaker`, scaled to its recorded level (none if its package has none). */
export function realNonAnswer(sp: LoadedSpeaker, i = 0): RealResponse | undefined {
  const list = realNonAnswers[sp.source.id] ?? [];
  const u = list[i % Math.max(1, list.length)];
  if (!u || !existsSync(path(sp.source, u))) return undefined;
  return { speaker: sp.source.id, utterance: u.name, compliant: false, near: false, recipe: `real short non-answer "${u.text}"`, samples: sessionRecording(sp.source, u) };
}
