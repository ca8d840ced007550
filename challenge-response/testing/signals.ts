/**
 * Test fixtures built on the spot: synthesized signals and espeak-ng speech. Used by the
 * tests beside the code; nothing here is imported by production code.
 */
import { execFileSync } from 'node:child_process';
import { parseWav, resample } from '../dsp/wav.js';

export const SR = 16000;

export function sine(hz: number, seconds: number, amp = 0.5, sr = SR): Float32Array {
  const out = new Float32Array(Math.round(seconds * sr));
  for (let i = 0; i < out.length; i++) out[i] = amp * Math.sin((2 * Math.PI * hz * i) / sr);
  return out;
}

/** Deterministic white noise (xorshift), uniform in -amp..amp. */
export function whiteNoise(seconds: number, amp = 0.3, seed = 12345, sr = SR): Float32Array {
  const out = new Float32Array(Math.round(seconds * sr));
  let s = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = amp * ((s / 0xffffffff) * 2 - 1);
  }
  return out;
}

/** Harmonic tone (sawtooth-like: harmonics with 1/k amplitude up to 7 kHz). */
export function harmonicTone(hz: number, seconds: number, amp = 0.3, sr = SR): Float32Array {
  const out = new Float32Array(Math.round(seconds * sr));
  for (let k = 1; k * hz < 7000; k++) {
    for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) + ((amp / k) * Math.sin((2 * Math.PI * k * hz * i) / sr));
  }
  return out;
}

/** Unit impulses at `ratePerSec`, first one at 0.1 s. */
export function clickTrain(ratePerSec: number, seconds: number, amp = 0.9, sr = SR): Float32Array {
  const out = new Float32Array(Math.round(seconds * sr));
  for (let t = 0.1; t < seconds - 0.05; t += 1 / ratePerSec) out[Math.round(t * sr)] = amp;
  return out;
}

/** Voiced "syllables": 120 ms harmonic bursts with a raised-cosine envelope. */
export function syllableBursts(ratePerSec: number, seconds: number, hz = 140, sr = SR): Float32Array {
  const tone = harmonicTone(hz, seconds, 0.3, sr);
  const out = new Float32Array(tone.length);
  const len = Math.round(0.12 * sr);
  for (let t = 0.1; t < seconds - 0.15; t += 1 / ratePerSec) {
    const s = Math.round(t * sr);
    for (let i = 0; i < len && s + i < out.length; i++) out[s + i] = (tone[s + i] ?? 0) * 0.5 * (1 - Math.cos((2 * Math.PI * i) / len));
  }
  return out;
}

export function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function scale(x: Float32Array, gain: number): Float32Array {
  return x.map((v) => v * gain);
}

/** A one-pole low-pass applied `order` times (a crude hand over the mouth). */
export function lowPass(x: Float32Array, cutoffHz: number, order = 4, sr = SR): Float32Array {
  const a = Math.exp((-2 * Math.PI * cutoffHz) / sr);
  let y = x.slice();
  for (let o = 0; o < order; o++) {
    const z = new Float32Array(y.length);
    let prev = 0;
    for (let i = 0; i < y.length; i++) {
      prev = (1 - a) * (y[i] ?? 0) + a * prev;
      z[i] = prev;
    }
    y = z;
  }
  return y;
}

/** espeak-ng speech resampled to 16 kHz mono. `args` are extra espeak-ng flags. */
export function espeak(text: string, args: string[] = []): Float32Array {
  const wav = execFileSync('espeak-ng', [...args, '--stdout', text], { maxBuffer: 64 << 20 });
  const clip = parseWav(wav);
  return resample(clip.samples, clip.sampleRate, SR);
}
