import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { muLawDecode, muLawDecodeFloat, muLawDecodeSample, muLawEncode, muLawEncodeFloat, muLawEncodeSample } from './G711.js';

let dir: string;
const ALL = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);

/** Runs ffmpeg's own PCMU codec (libavcodec pcm_mulaw, an independent implementation) on raw bytes. */
function ffmpeg(inFmt: string, outFmt: string, input: Uint8Array): Buffer {
  const src = path.join(dir, `in.${inFmt}`);
  const dst = path.join(dir, `out.${outFmt}`);
  fs.writeFileSync(src, input);
  execFileSync('ffmpeg', ['-y', '-loglevel', 'error', '-f', inFmt, '-ar', '8000', '-ac', '1', '-i', src, '-f', outFmt, dst]);
  return fs.readFileSync(dst);
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-g711-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('G.711 mu-law', () => {
  it('maps the standard code points (G.191 ulaw_compress / ulaw_expand)', () => {
    expect(muLawEncodeSample(0)).toBe(0xff);
    expect(muLawEncodeSample(-1)).toBe(0x7f); // negative zero (one's complement)
    // The standard's 14-bit range ends at +-8159; in 16-bit units that is +-32636.
    expect(muLawEncodeSample(8159 * 4)).toBe(0x80);
    expect(muLawEncodeSample(32767)).toBe(0x80);
    expect(muLawEncodeSample(-8159 * 4)).toBe(0x00);
    expect(muLawEncodeSample(-32768)).toBe(0x00);
    // 16-bit 8159 is 14-bit 2039: segment 6 (biased 2072), step 0 -> 0x9F.
    expect(muLawEncodeSample(8159)).toBe(0x9f);
    // Segment edges of the biased 14-bit magnitude (31 + 33 = 64 starts segment 2).
    expect(muLawEncodeSample(30 * 4)).toBe(0xf0);
    expect(muLawEncodeSample(31 * 4)).toBe(0xef);
    expect(muLawDecodeSample(0xff)).toBe(0);
    expect(muLawDecodeSample(0x7f)).toBe(0);
    expect(muLawDecodeSample(0x80)).toBe(32124);
    expect(muLawDecodeSample(0x00)).toBe(-32124);
    expect(muLawDecodeSample(0xef)).toBe(33 * 4); // middle of [31, 35) in 14-bit units
  });

  it('decodes all 256 codes exactly as ffmpeg pcm_mulaw does', () => {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const b = ffmpeg('mulaw', 's16le', codes);
    const ref = new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    expect(Array.from(muLawDecode(codes))).toEqual(Array.from(ref));
  });

  it('encodes all 65536 int16 values like ffmpeg pcm_mulaw except where ffmpeg departs from the G.711 decision levels', () => {
    const ff = ffmpeg('s16le', 'mulaw', new Uint8Array(ALL.buffer));
    const mine = muLawEncode(ALL);
    // ffmpeg takes a negative x as 14-bit floor(x / 4), G.191 as one's complement ~(~x >> 2), so
    // x <= -5 here codes as ffmpeg codes x + 4. ffmpeg also quantises to the nearest level, which
    // puts the first half step of each segment (G.711: biased magnitude 64, 128, ..., 4096 opens
    // the next segment) into the last step of the segment below: one code higher there.
    let same = 0;
    let edge = 0;
    let other = 0;
    for (let i = 0; i < ALL.length; i++) {
      const x = ALL[i]!;
      if (x > -5 && x < 0) continue;
      const ref = ff[x >= 0 ? i : i + 4]!;
      if (mine[i] === ref) same++;
      else if ((mine[i]! & 0x0f) === 0x0f && ref === mine[i]! + 1) edge++;
      else other++;
    }
    expect(other).toBe(0);
    expect(same).toBeGreaterThan(65000);
    // A quarter of the lower segment's step past each of the 7 edges (step 2^k 14-bit units, so
    // 2^k 16-bit values, k = 1..7): about 254 16-bit values per sign.
    expect(edge).toBeGreaterThan(0);
    expect(edge).toBeLessThanOrEqual(2 * 260);
  });

  it('is monotonic, sign-symmetric, idempotent on its levels and within half a step', () => {
    const enc = muLawEncode(ALL);
    const dec = muLawDecode(enc);
    let nonMonotonic = 0;
    for (let i = 1; i < ALL.length; i++) if (dec[i]! < dec[i - 1]!) nonMonotonic++;
    expect(nonMonotonic).toBe(0);
    for (let c = 0; c < 256; c++) {
      const v = muLawDecodeSample(c);
      expect(muLawDecodeSample(c ^ 0x80) + v).toBe(0);
      if (c !== 0x7f) expect(muLawEncodeSample(v)).toBe(c);
    }
    // Segment s (1..8) has steps of 4 << s in 16-bit units: inside the range the error is at
    // most half a step (+ the 4-unit 14-bit truncation).
    let tooFar = 0;
    for (let i = 0; i < ALL.length; i++) {
      const x = ALL[i]!;
      const seg = 8 - ((enc[i]! & 0x70) >> 4);
      if (Math.abs(x) <= 32124 && Math.abs(dec[i]! - x) > (4 << seg) / 2 + 4) tooFar++;
    }
    expect(tooFar).toBe(0);
  });

  it('float helpers scale by 32768, clip, treat NaN as silence and write into a given buffer', () => {
    const x = Float32Array.from([0, 0.5, -0.5, 1.5, -2, Number.NaN]);
    const out = new Uint8Array(8);
    const codes = muLawEncodeFloat(x, out);
    expect(codes.length).toBe(6);
    expect(codes.buffer).toBe(out.buffer);
    expect(Array.from(codes)).toEqual([0xff, muLawEncodeSample(16384), muLawEncodeSample(-16384), 0x80, 0x00, 0xff]);
    const y = muLawDecodeFloat(codes);
    expect(y[1]! * 32768).toBe(muLawDecodeSample(codes[1]!));
    expect(Math.abs(y[1]! - 0.5)).toBeLessThan(0.02);
    expect(() => muLawDecode(codes, new Int16Array(2))).toThrow();
    let err: unknown;
    try {
      muLawEncode(ALL, new Uint8Array(3));
    } catch (e) {
      err = e;
    }
    expect(isDfdError(err) && err.code === 'ERR_RANGE').toBe(true);
  });

  it('keeps speech-level signals at about 35 dB SNR (the G.711 design point)', () => {
    const n = 8000;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * 440 * i) / 8000) + 0.1 * Math.sin((2 * Math.PI * 1330 * i) / 8000);
    const y = muLawDecodeFloat(muLawEncodeFloat(x));
    let s = 0;
    let e = 0;
    for (let i = 0; i < n; i++) {
      s += x[i]! ** 2;
      e += (x[i]! - y[i]!) ** 2;
    }
    const snr = 10 * Math.log10(s / e);
    expect(snr).toBeGreaterThan(30);
    expect(snr).toBeLessThan(45);
  });
});
