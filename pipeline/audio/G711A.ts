/**
 * ITU-T G.711 A-law (PCMA, RTP payload type 8) and its transcoding to mu-law (PCMU), which is
 * what the pipeline's telephone path decodes. Expansion follows G.191's `alaw_expand`
 * (even bits inverted, 3-bit segment, 4-bit step, the middle of the quantisation interval);
 * compression is its inverse. Table-driven: 256 entries each way for A-law -> mu-law.
 */
import { muLawEncodeSample } from './G711.js';

/** 16-bit linear value of one A-law code. */
export function aLawDecodeSample(code: number): number {
  const a = (code & 0xff) ^ 0x55;
  const seg = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  t += seg === 0 ? 8 : 0x108;
  if (seg > 1) t <<= seg - 1;
  return a & 0x80 ? t : -t;
}

/** A-law code of one 16-bit sample (clipped to int16). */
export function aLawEncodeSample(sample: number): number {
  let x = sample >= 32767 ? 32767 : sample <= -32768 ? -32768 : Math.trunc(sample) | 0;
  let mask: number;
  if (x >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    x = -x - 1;
  }
  // Segment end points (13-bit magnitudes shifted to 16-bit units).
  const ends = [0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff, 0x3fff, 0x7fff];
  let seg = 0;
  while (seg < 8 && x > ends[seg]!) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  let aval = seg << 4;
  aval |= seg < 2 ? (x >> 4) & 0x0f : (x >> (seg + 3)) & 0x0f;
  return aval ^ mask;
}

const A_TO_MU = new Uint8Array(256);
for (let c = 0; c < 256; c++) A_TO_MU[c] = muLawEncodeSample(aLawDecodeSample(c));

/** Transcodes A-law codes to mu-law codes (one table lookup per byte). */
export function aLawToMuLaw(codes: Uint8Array, out: Uint8Array = new Uint8Array(codes.length)): Uint8Array {
  for (let i = 0; i < codes.length; i++) out[i] = A_TO_MU[codes[i]!]!;
  return out.subarray(0, codes.length);
}

/** A-law codes of float samples in [-1, 1]. */
export function aLawEncodeFloat(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = aLawEncodeSample(Math.round(samples[i]! * 32767));
  return out;
}
