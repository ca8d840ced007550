/**
 * A labelled set for the audio challenges, made on this machine: espeak-ng "speakers"
 * (voices x variants x pitch x speed) and sox transformations, each with its own normal
 * speech as the baseline. SYNTHETIC: no real person's voice is in it. It tells whether the
 * checkers separate the asked behaviour from the usual one on clean synthetic speech; it
 * says nothing about how real callers whisper, hum or cup their hands.
 *
 * Each response is labelled by how it was made (compliant = the asked transformation,
 * non-compliant = the speaker's usual voice or the wrong thing), never by a checker.
 */
import { execFileSync } from 'node:child_process';
import type { ChallengeSpec } from '../catalogue.js';
import { randomMelody } from '../catalogue.js';
import type { MelodyNote } from '../dsp/melody.js';
import { midiToHz } from '../dsp/melody.js';
import { concat } from '../testing/signals.js';
import type { RandomSource } from '../random.js';

export const SR = 16000;

export interface Speaker {
  id: string;
  /** espeak-ng voice and variant, e.g. "en-us+m3". */
  voice: string;
  /** Language part only (for variants that replace the speaker's, e.g. +whisper). */
  lang: string;
  /** espeak-ng -p (0..99) and -s (words per minute). */
  pitch: number;
  speed: number;
  /** The speaker's usual hum register, semitones relative to the prompt melody. */
  register: number;
}

export interface LabelledResponse {
  speaker: string;
  compliant: boolean;
  /** How it was made (a short recipe, shown in reports). */
  recipe: string;
  samples: Float32Array;
}

/** A seeded RNG (mulberry32) that satisfies the catalogue's RandomSource. */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { float: next, int: (n: number) => Math.floor(next() * n) };
}

// "en" is British English (gmw/en); espeak-ng ignores the +variant of "en-gb+..." (measured:
// "en-gb+whisper" stays voiced), so the language is named "en" here.
const LANGS = ['en-us', 'en', 'en-gb-scotland', 'en-gb-x-rp', 'en-029', 'en-us-nyc'];
const VARIANTS = ['m1', 'm3', 'f1', 'f3'];

/** 24 speakers: every language x variant, with pitch and speed spread deterministically. */
export function speakers(): Speaker[] {
  const out: Speaker[] = [];
  let i = 0;
  for (const lang of LANGS) {
    for (const v of VARIANTS) {
      const female = v.startsWith('f');
      out.push({
        id: `${lang}+${v}`,
        voice: `${lang}+${v}`,
        lang,
        pitch: 35 + ((i * 7) % 30),
        speed: 140 + ((i * 11) % 40),
        register: female ? 5 - (i % 4) : -7 + (i % 5),
      });
      i++;
    }
  }
  return out;
}

const BASELINE_TEXTS = [
  'Good morning, I wanted to talk about the budget for next year.',
  'We should meet again on Tuesday afternoon if that works for you.',
  'The report is almost finished and I will send it before the weekend.',
];

/** espeak-ng (+ optional sox effects) -> 16 kHz mono float samples. */
export function render(text: string, espeakArgs: string[], soxEffects: string[] = []): Float32Array {
  const wav = execFileSync('espeak-ng', [...espeakArgs, '--stdout', text], { maxBuffer: 64 << 20 });
  return sox(wav, 'wav', soxEffects);
}

/** Runs sox on a buffer; output 16 kHz mono 32-bit float. */
export function sox(input: Buffer, type: 'wav' | 'f32', effects: string[]): Float32Array {
  const inArgs = type === 'wav' ? ['-t', 'wav', '-'] : ['-t', 'raw', '-e', 'floating-point', '-b', '32', '-r', String(SR), '-c', '1', '-'];
  const out = execFileSync('sox', ['-V1', ...inArgs, '-t', 'raw', '-e', 'floating-point', '-b', '32', '-r', String(SR), '-c', '1', '-', ...effects], { input, maxBuffer: 64 << 20 });
  return new Float32Array(out.buffer, out.byteOffset, Math.floor(out.byteLength / 4)).slice();
}

function speakerArgs(s: Speaker, extra: { voice?: string; pitch?: number; speed?: number; amplitude?: number } = {}): string[] {
  return ['-v', extra.voice ?? s.voice, '-p', String(extra.pitch ?? s.pitch), '-s', String(extra.speed ?? s.speed), '-a', String(extra.amplitude ?? 100)];
}

/** The speaker's normal speech (about 10-12 s), as the service would hear it before a challenge. */
export function baselineSpeech(s: Speaker): Float32Array {
  const parts = BASELINE_TEXTS.map((t) => render(t, speakerArgs(s), ['pad', '0', '0.4']));
  return concat(...parts);
}

/** One hummed note made by sox: a band-limited harmonic tone with an attack/decay and light vibrato. */
function humNote(hz: number, sec: number, wave: string, vibratoDepth: number): Float32Array {
  const tone = execFileSync('sox', ['-V1', '-n', '-t', 'raw', '-e', 'floating-point', '-b', '32', '-r', String(SR), '-c', '1', '-', 'synth', sec.toFixed(3), wave, hz.toFixed(2), 'lowpass', '2500', 'fade', 't', '0.04', sec.toFixed(3), '0.06', 'vol', '0.3', ...(vibratoDepth > 0 ? ['tremolo', '5', String(vibratoDepth)] : [])], { maxBuffer: 16 << 20 });
  return new Float32Array(tone.buffer, tone.byteOffset, Math.floor(tone.byteLength / 4)).slice();
}

/** A hummed rendition of `notes`, shifted by `shift` semitones, each note `noteSec` long. */
export function hum(notes: readonly MelodyNote[], shift: number, noteSec: number, wave: string, detune: (i: number) => number = () => 0, vibrato = 0): Float32Array {
  return concat(new Float32Array(SR * 0.2), ...notes.map((n, i) => humNote(midiToHz(n.midi + shift + detune(i)), noteSec, wave, vibrato)), new Float32Array(SR * 0.2));
}

function phraseOf(spec: ChallengeSpec): string {
  return spec.params.phrase ?? (spec.params.words ?? []).join(', ');
}

/** A melody whose median-removed contour differs clearly from `target` (for the "wrong tune" negatives). */
function differentMelody(target: readonly MelodyNote[], rng: RandomSource): MelodyNote[] {
  const centred = (m: readonly MelodyNote[]): number[] => {
    const s = m.map((n) => n.midi);
    const sorted = [...s].sort((a, b) => a - b);
    const med = sorted[sorted.length >> 1] ?? 0;
    return s.map((v) => v - med);
  };
  const t = centred(target);
  for (let k = 0; k < 100; k++) {
    const m = randomMelody(rng).slice(0, target.length);
    while (m.length < target.length) m.push({ midi: 55 + rng.int(10), durationSec: 0.5 });
    const c = centred(m);
    const d = c.reduce((a, v, i) => a + Math.abs(v - (t[i] ?? 0)), 0) / c.length;
    if (d >= 2.5) return m;
  }
  // Fallback: the target turned upside down.
  const base = target[0]?.midi ?? 60;
  return target.map((n) => ({ ...n, midi: 2 * base - n.midi }));
}

/**
 * Compliant and non-compliant responses of one speaker to one issued challenge. `i` is the
 * speaker's index: recipes rotate through their variants with it, so each challenge gets a
 * mix of recipes over the 24 speakers.
 */
export function responses(kind: string, spec: ChallengeSpec, s: Speaker, i: number, rng: RandomSource): { compliant: LabelledResponse; nonCompliant: LabelledResponse } {
  const text = phraseOf(spec);
  const make = (compliant: boolean, recipe: string, samples: Float32Array): LabelledResponse => ({ speaker: s.id, compliant, recipe, samples });
  const normal = (recipe = 'usual voice', extra: Parameters<typeof speakerArgs>[1] = {}, fx: string[] = []): LabelledResponse => make(false, recipe, render(text, speakerArgs(s, extra), fx));
  const v = i % 3;
  switch (kind) {
    case 'whisper-phrase': {
      const variant = i % 2 === 0 ? 'whisper' : 'whisperf';
      const amp = [60, 100, 140][v] ?? 100;
      const c = make(true, `espeak +${variant} -a ${amp}`, render(text, speakerArgs(s, { voice: `${s.lang}+${variant}`, amplitude: amp })));
      const n = v === 0 ? normal() : v === 1 ? normal('usual voice, softer (-a 50)', { amplitude: 50 }) : normal('usual voice, slower', { speed: s.speed - 30 });
      return { compliant: c, nonCompliant: n };
    }
    case 'speak-softly': {
      const c = v === 0 ? make(true, 'espeak -a 25', render(text, speakerArgs(s, { amplitude: 25 }))) : make(true, `sox gain -${10 + 2 * v} dB`, render(text, speakerArgs(s), ['gain', `-${10 + 2 * v}`]));
      const n = v === 0 ? normal() : v === 1 ? normal('usual voice, sox gain -1 dB', {}, ['gain', '-1']) : normal('louder (-a 150)', { amplitude: 150 });
      return { compliant: c, nonCompliant: n };
    }
    case 'speak-loudly': {
      // espeak's usual output peaks well below full scale, so +8..12 dB does not clip.
      const c = v === 0 ? make(true, 'espeak -a 200', render(text, speakerArgs(s, { amplitude: 200 }))) : make(true, `sox gain +${6 + 2 * v} dB`, render(text, speakerArgs(s), ['gain', `${6 + 2 * v}`]));
      const n = v === 0 ? normal() : v === 1 ? normal('softer (-a 50)', { amplitude: 50 }) : normal('usual voice, sox gain +1 dB', {}, ['gain', '1']);
      return { compliant: c, nonCompliant: n };
    }
    case 'high-pitch': {
      const c = v === 0 ? make(true, 'espeak -p 99', render(text, speakerArgs(s, { pitch: 99 }))) : make(true, `sox pitch +${500 + 150 * v} cents`, render(text, speakerArgs(s), ['pitch', String(500 + 150 * v)]));
      const n = v === 0 ? normal() : v === 1 ? normal('lower (-p -15)', { pitch: Math.max(0, s.pitch - 15) }) : normal('sox pitch +50 cents', {}, ['pitch', '50']);
      return { compliant: c, nonCompliant: n };
    }
    case 'cupped-mouth': {
      const cut = [700, 1000, 1400][v] ?? 1000;
      const c = make(true, `sox lowpass ${cut} Hz twice (cupped hands)`, render(text, speakerArgs(s), ['lowpass', String(cut), 'lowpass', String(cut), 'gain', '3']));
      const n = v === 0 ? normal() : v === 1 ? normal('sox treble -3 dB', {}, ['treble', '-3']) : normal('sox lowpass 6000 Hz', {}, ['lowpass', '6000']);
      return { compliant: c, nonCompliant: n };
    }
    case 'read-quickly':
    case 'read-slowly': {
      // Read twice: the usual reading, a pause (0.5-1.1 s), then the second reading.
      const fast = kind === 'read-quickly';
      const first = render(text, speakerArgs(s));
      const pause = new Float32Array(Math.round((0.5 + 0.2 * (i % 4)) * SR));
      const twice = (compliant: boolean, recipe: string, second: Float32Array): LabelledResponse => make(compliant, `usual reading, ${pause.length / SR} s pause, ${recipe}`, concat(first, pause, second));
      const espeakTimes = fast ? 1.7 : 0.5;
      const tempo = fast ? (v === 1 ? '1.5' : '1.8') : v === 1 ? '0.6' : '0.5';
      const c =
        v === 0
          ? twice(true, `espeak -s x${espeakTimes}`, render(text, speakerArgs(s, { speed: Math.round(s.speed * espeakTimes) })))
          : twice(true, `sox tempo ${tempo}`, render(text, speakerArgs(s), ['tempo', '-s', tempo]));
      // Non-compliant: the same speed twice, a near miss (1.1x), the wrong direction.
      const near = fast ? '1.1' : (1 / 1.1).toFixed(3);
      const wrong = fast ? 0.8 : 1.3;
      const n =
        v === 0
          ? twice(false, 'usual reading again', render(text, speakerArgs(s)))
          : v === 1
            ? twice(false, `sox tempo ${near} (near miss)`, render(text, speakerArgs(s), ['tempo', '-s', near]))
            : twice(false, `${fast ? 'slower' : 'faster'} (espeak -s x${wrong})`, render(text, speakerArgs(s, { speed: Math.round(s.speed * wrong) })));
      return { compliant: c, nonCompliant: n };
    }
    case 'sing-melody': {
      const melody = spec.params.melody ?? [];
      const waves = ['sawtooth', 'triangle', 'square'];
      const wave = waves[i % 3] ?? 'sawtooth';
      const noteSec = [0.4, 0.5, 0.65][(i >> 1) % 3] ?? 0.5;
      const detune = (k: number): number => ((k * 7 + i) % 5) * 0.1 - 0.2;
      const c = make(true, `sox ${wave} hum, ${noteSec} s/note, shift ${s.register}`, hum(melody, s.register, noteSec, wave, detune, i % 2 ? 20 : 0));
      let n: LabelledResponse;
      if (v === 0) n = make(false, 'wrong tune (sox hum)', hum(differentMelody(melody, rng), s.register, noteSec, wave, detune));
      else if (v === 1) n = make(false, 'monotone hum', hum(melody.map((x) => ({ ...x, midi: melody[0]?.midi ?? 60 })), s.register, noteSec, wave, detune));
      else n = make(false, 'spoke instead of singing', render('I am not going to sing that, sorry.', speakerArgs(s)));
      return { compliant: c, nonCompliant: n };
    }
    case 'unusual-words': {
      const c = v === 2 ? make(true, 'words, faster', render(text, speakerArgs(s, { speed: s.speed + 30 }))) : make(true, 'words, usual voice', render(text, speakerArgs(s)));
      // Refusals and stalling: what a caller (or a clone that cannot say the words) gives instead.
      const n =
        v === 2
          ? make(false, 'hummed one long note instead (sox)', hum([{ midi: 57, durationSec: 2 }], s.register, 2, 'sawtooth'))
          : make(false, `no attempt ("${v === 0 ? 'No.' : 'Sorry, what?'}")`, render(v === 0 ? 'No.' : 'Sorry, what?', speakerArgs(s)));
      return { compliant: c, nonCompliant: n };
    }
    default:
      throw new Error(`no labelled recipes for ${kind}`);
  }
}
