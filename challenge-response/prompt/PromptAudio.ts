/**
 * Spoken prompt synthesis: espeak-ng as a child process (text on stdin, WAV on stdout,
 * never a shell), resampled to 48 kHz mono Int16 for the Opus packetizer, plus the hummed
 * melody of the sing/hum challenge appended after the words.
 */
import { spawn } from 'node:child_process';
import { DfdError } from '../../kernel/errors.js';
import type { SpokenPrompt } from '../catalogue.js';
import { midiToHz, type MelodyNote } from '../dsp/melody.js';
import { parseWav, resample } from '../dsp/wav.js';

export interface PromptAudioOptions {
  /** espeak-ng binary. */
  espeakBin: string;
  /** espeak-ng voice, e.g. "en-us". */
  voice: string;
  /** Words per minute. */
  wordsPerMinute: number;
  /** Output sample rate (Opus runs at 48 kHz). */
  sampleRate: number;
  /** Kill espeak-ng after this long, ms. */
  timeoutMs: number;
  /** Longest text accepted, characters (prompts are one sentence). */
  maxTextChars: number;
  /** Peak level of the speech and the melody, 0..1 of full scale. */
  peak: number;
  /** Silence between the words and the melody, s. */
  gapSec: number;
}

export const defaultPromptAudioOptions: PromptAudioOptions = {
  espeakBin: 'espeak-ng',
  voice: 'en-us',
  wordsPerMinute: 160,
  sampleRate: 48000,
  timeoutMs: 10_000,
  maxTextChars: 500,
  peak: 0.5,
  gapSec: 0.4,
};

/** Runs espeak-ng and returns its output as float samples at its native rate (22050 Hz). */
export function espeakWav(text: string, o: PromptAudioOptions): Promise<{ sampleRate: number; samples: Float32Array }> {
  if (text.length === 0 || text.length > o.maxTextChars) {
    return Promise.reject(new DfdError('ERR_PROMPT_FAILED', 'prompt text is empty or too long', { length: text.length, max: o.maxTextChars }));
  }
  return new Promise((resolve, reject) => {
    const child = spawn(o.espeakBin, ['--stdout', '-v', o.voice, '-s', String(o.wordsPerMinute)], { stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const finish = (err: DfdError | undefined, buf?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
        return;
      }
      try {
        resolve(parseWav(buf ?? Buffer.alloc(0)));
      } catch (e) {
        reject(new DfdError('ERR_PROMPT_FAILED', 'espeak-ng output is not WAV', undefined, { cause: e }));
      }
    };
    const timer = setTimeout(() => finish(new DfdError('ERR_PROMPT_FAILED', 'espeak-ng timed out', { timeoutMs: o.timeoutMs })), o.timeoutMs);
    // 2 minutes of 22 kHz 16-bit audio is far beyond any prompt: a bound on memory.
    const maxBytes = 120 * 22050 * 2;
    child.stdout.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > maxBytes) finish(new DfdError('ERR_PROMPT_FAILED', 'espeak-ng output too large'));
      else chunks.push(c);
    });
    child.on('error', (e) => finish(new DfdError('ERR_PROMPT_FAILED', 'espeak-ng could not start', { bin: o.espeakBin }, { cause: e })));
    child.on('close', (code) => {
      if (code !== 0) finish(new DfdError('ERR_PROMPT_FAILED', 'espeak-ng failed', { code }));
      else finish(undefined, Buffer.concat(chunks));
    });
    child.stdin.on('error', () => undefined);
    // Control characters would reach espeak-ng's SSML/markup parser: flatten them to spaces.
    let clean = '';
    for (const ch of text) clean += ch.charCodeAt(0) < 0x20 ? ' ' : ch;
    child.stdin.end(clean);
  });
}

/**
 * A hum: fundamental plus a few decaying harmonics with a slight vibrato, attack/release
 * envelope per note so notes are distinct.
 */
export function synthesizeMelody(notes: readonly MelodyNote[], sampleRate = 48000, peak = 0.5): Float32Array {
  const total = Math.round(notes.reduce((a, n) => a + n.durationSec, 0) * sampleRate);
  const out = new Float32Array(total);
  const harmonics = [1, 0.5, 0.25, 0.12];
  const norm = harmonics.reduce((a, b) => a + b, 0);
  let off = 0;
  let phase = 0;
  for (const n of notes) {
    const len = Math.round(n.durationSec * sampleRate);
    const hz = midiToHz(n.midi);
    const attack = Math.min(len / 4, Math.round(0.03 * sampleRate));
    const release = Math.min(len / 3, Math.round(0.06 * sampleRate));
    for (let i = 0; i < len; i++) {
      const env = Math.min(1, i / attack, (len - i) / release);
      const f = hz * (1 + 0.004 * Math.sin((2 * Math.PI * 5 * i) / sampleRate));
      phase += (2 * Math.PI * f) / sampleRate;
      let v = 0;
      for (let k = 0; k < harmonics.length; k++) v += (harmonics[k] ?? 0) * Math.sin((k + 1) * phase);
      out[off + i] = (peak * env * v) / norm;
    }
    off += len;
  }
  return out;
}

export function toInt16(x: Float32Array): Int16Array {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round((x[i] ?? 0) * 32767)));
  return out;
}

/** Normalises the peak of `x` to `peak` in place. */
function normalise(x: Float32Array, peak: number): Float32Array {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] ?? 0));
  if (m > 0) for (let i = 0; i < x.length; i++) x[i] = ((x[i] ?? 0) * peak) / m;
  return x;
}

/** The whole prompt as 48 kHz (by default) mono Int16 PCM. */
export async function synthesizePrompt(prompt: SpokenPrompt, options: Partial<PromptAudioOptions> = {}): Promise<Int16Array> {
  const o = { ...defaultPromptAudioOptions, ...options };
  const wav = await espeakWav(prompt.text, o);
  const speech = normalise(resample(wav.samples, wav.sampleRate, o.sampleRate), o.peak);
  if (!prompt.melody || prompt.melody.length === 0) return toInt16(speech);
  const gap = new Float32Array(Math.round(o.gapSec * o.sampleRate));
  const tune = synthesizeMelody(prompt.melody, o.sampleRate, o.peak);
  const all = new Float32Array(speech.length + gap.length + tune.length);
  all.set(speech, 0);
  all.set(tune, speech.length + gap.length);
  return toInt16(all);
}
