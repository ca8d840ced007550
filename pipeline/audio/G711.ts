/**
 * ITU-T G.711 mu-law (PCMU, RTP payload type 0): 16-bit linear PCM <-> 8-bit codes.
 *
 * Bit-exact with ITU-T G.191's reference `ulaw_compress` / `ulaw_expand` (Software Tool
 * Library, g711.c): the 16-bit sample is taken as a 14-bit value (arithmetic shift by 2,
 * negative values in one's complement, so -1..-4 give "negative zero" 0x7F), biased by 33,
 * clipped at 0x1FFF, split into a 3-bit segment and a 4-bit step, and the code is sent
 * inverted. Decoding returns the middle of the quantisation interval, in 16-bit units.
 *
 * Code points (16-bit input; the standard's 14-bit value v is 4 v here):
 *   0 -> 0xFF, -1 -> 0x7F, 14-bit +8159 (int16 32636..32767) -> 0x80, int16 -32768 -> 0x00;
 *   0xFF and 0x7F -> 0, 0x80 -> +32124, 0x00 -> -32124.
 *
 * Table-free encoding (a few integer operations per sample); decoding uses a 256-entry
 * table built at load. The array functions write into `out` when given (it must be at least
 * as long as the input) and return a view of the written part; they never allocate per sample.
 */
import { DfdError } from '../../kernel/errors.js';

/** Bias added to the 14-bit magnitude (G.711: 33). */
const BIAS = 33;
/** Largest biased 14-bit magnitude. */
const CLIP = 0x1fff;

/** mu-law code of one 16-bit sample. Values outside int16 are clipped, fractions truncated toward zero. */
export function muLawEncodeSample(sample: number): number {
  const x = sample >= 32767 ? 32767 : sample <= -32768 ? -32768 : Math.trunc(sample) | 0;
  let mag = (x < 0 ? ~x >> 2 : x >> 2) + BIAS;
  if (mag > CLIP) mag = CLIP;
  // Segment 1..8: one more than the bit length of mag >> 6.
  const seg = 33 - Math.clz32(mag >> 6);
  const code = ((8 - seg) << 4) | (15 - ((mag >> seg) & 15));
  return x >= 0 ? code | 0x80 : code;
}

function expand(code: number): number {
  const m = ~code & 0xff;
  const exponent = (m >> 4) & 7;
  const step = 4 << (exponent + 1);
  const v = (0x80 << exponent) + step * (m & 15) + step / 2 - 4 * BIAS;
  return code < 0x80 ? -v | 0 : v;
}

const DECODE = new Int16Array(256);
for (let c = 0; c < 256; c++) DECODE[c] = expand(c);

/** 16-bit sample of one mu-law code (0..255; higher bits are ignored). */
export function muLawDecodeSample(code: number): number {
  return DECODE[code & 0xff]!;
}

function outFor<T extends Uint8Array | Int16Array | Float32Array>(out: T | undefined, n: number, make: (n: number) => T): T {
  if (out === undefined) return make(n);
  if (out.length < n) throw new DfdError('ERR_RANGE', 'G.711 output buffer is too short', { need: n, have: out.length });
  return out;
}

/** Encodes 16-bit PCM to mu-law codes. */
export function muLawEncode(pcm: Int16Array, out?: Uint8Array): Uint8Array {
  const o = outFor(out, pcm.length, (n) => new Uint8Array(n));
  for (let i = 0; i < pcm.length; i++) o[i] = muLawEncodeSample(pcm[i]!);
  return o.subarray(0, pcm.length);
}

/** Decodes mu-law codes to 16-bit PCM. */
export function muLawDecode(codes: Uint8Array, out?: Int16Array): Int16Array {
  const o = outFor(out, codes.length, (n) => new Int16Array(n));
  for (let i = 0; i < codes.length; i++) o[i] = DECODE[codes[i]!]!;
  return o.subarray(0, codes.length);
}

/** Encodes float samples in [-1, 1) (scaled by 32768, rounded, clipped to int16) to mu-law codes. */
export function muLawEncodeFloat(samples: Float32Array, out?: Uint8Array): Uint8Array {
  const o = outFor(out, samples.length, (n) => new Uint8Array(n));
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    // NaN encodes as silence.
    o[i] = muLawEncodeSample(v === v ? Math.round(v * 32768) : 0);
  }
  return o.subarray(0, samples.length);
}

/** Decodes mu-law codes to float samples (int16 / 32768), ready for the Resampler. */
export function muLawDecodeFloat(codes: Uint8Array, out?: Float32Array): Float32Array {
  const o = outFor(out, codes.length, (n) => new Float32Array(n));
  for (let i = 0; i < codes.length; i++) o[i] = DECODE[codes[i]!]! / 32768;
  return o.subarray(0, codes.length);
}
