/**
 * Minimal RIFF/WAVE reader for 16-bit PCM (what espeak-ng and sox write), and a
 * linear-phase windowed-sinc resampler, so the module needs no codec library.
 */
import { DfdError } from '../../src/errors.js';

export interface PcmClip {
  sampleRate: number;
  /** Mono samples in -1..1 (channels are averaged). */
  samples: Float32Array;
}

export function parseWav(buf: Buffer): PcmClip {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new DfdError('ERR_DECODE_FAILED', 'not a RIFF/WAVE buffer');
  }
  let off = 12;
  let sampleRate = 0;
  let channels = 0;
  let bits = 0;
  let format = 0;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    let size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ' && body + 16 <= buf.length) {
      format = buf.readUInt16LE(body);
      channels = buf.readUInt16LE(body + 2);
      sampleRate = buf.readUInt32LE(body + 4);
      bits = buf.readUInt16LE(body + 14);
    } else if (id === 'data') {
      // espeak-ng --stdout writes 0xFFFFFFFF-ish sizes when streaming: clamp to the buffer.
      if (size === 0 || body + size > buf.length) size = buf.length - body;
      if (format !== 1 || bits !== 16 || channels < 1 || sampleRate <= 0) {
        throw new DfdError('ERR_DECODE_FAILED', 'only 16-bit PCM WAV is supported', { format, bits, channels });
      }
      const frames = Math.floor(size / (2 * channels));
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += buf.readInt16LE(body + 2 * (i * channels + c));
        samples[i] = sum / channels / 32768;
      }
      return { sampleRate, samples };
    }
    off = body + size + (size & 1);
  }
  throw new DfdError('ERR_DECODE_FAILED', 'WAV has no data chunk');
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Windowed-sinc resampling (Hann window, `zeros` zero crossings each side). For integer
 * rates whose ratio needs few phases (22050 -> 48000 needs 320) the kernel is tabulated
 * per phase, so no trigonometry runs per output sample.
 */
export function resample(input: Float32Array, fromRate: number, toRate: number, zeros = 16): Float32Array {
  if (fromRate === toRate) return input.slice();
  const ratio = toRate / fromRate;
  const outLen = Math.floor(input.length * ratio);
  const out = new Float32Array(outLen);
  // Low-pass at the lower of the two Nyquist frequencies.
  const cutoff = Math.min(1, ratio);
  const half = Math.ceil(zeros / cutoff);
  const taps = 2 * half;
  const kernel = (d: number): number => {
    const x = d * cutoff;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    return sinc * (0.5 + 0.5 * Math.cos((Math.PI * d) / (half + 1)));
  };
  const integer = Number.isInteger(fromRate) && Number.isInteger(toRate);
  const phases = integer ? toRate / gcd(fromRate, toRate) : Infinity;
  let table: Float64Array | undefined;
  if (phases <= 4096) {
    // Output i sits at input position i*from/to; its fractional part is (i*from mod to)/to,
    // which takes `phases` distinct values.
    table = new Float64Array(phases * taps);
    for (let ph = 0; ph < phases; ph++) {
      const frac = ph / phases;
      for (let k = 0; k < taps; k++) table[ph * taps + k] = kernel(frac - (k - half + 1));
    }
  }
  const step = integer ? fromRate / gcd(fromRate, toRate) : 0;
  for (let i = 0; i < outLen; i++) {
    const t = i / ratio;
    const centre = Math.floor(t);
    const ph = table ? (i * step) % phases : 0;
    let acc = 0;
    let wsum = 0;
    for (let k = 0; k < taps; k++) {
      const j = centre - half + 1 + k;
      if (j < 0 || j >= input.length) continue;
      const h = table ? (table[ph * taps + k] ?? 0) : kernel(t - j);
      acc += (input[j] ?? 0) * h;
      wsum += h;
    }
    out[i] = wsum !== 0 ? acc / wsum : 0;
  }
  return out;
}
