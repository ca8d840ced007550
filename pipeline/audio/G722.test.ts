import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { G722_DELAY_SAMPLES, G722Decoder, G722Encoder } from './G722.js';
import { prng } from '../testing/audioSupport.js';

const SPEECH = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav';
const RATE = 16000;

let dir: string;
/** The speech file as 16 kHz mono int16 (7.1 s). */
let speech: Int16Array;

function int16(b: Buffer): Int16Array {
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

/** Runs ffmpeg (libavcodec's g722 encoder/decoder, an independent implementation) from `input` bytes in `inArgs` format. */
function ffmpeg(inArgs: string[], input: Uint8Array | string, outArgs: string[]): Buffer {
  const src = typeof input === 'string' ? input : path.join(dir, 'in.bin');
  if (typeof input !== 'string') fs.writeFileSync(src, input);
  const dst = path.join(dir, 'out.bin');
  execFileSync('ffmpeg', ['-y', '-loglevel', 'error', ...inArgs, '-i', src, ...outArgs, dst]);
  return fs.readFileSync(dst);
}

const PCM = ['-f', 's16le', '-ar', '16000', '-ac', '1'];
const G722 = ['-f', 'g722'];
const ffEncode = (pcm: Int16Array): Uint8Array => new Uint8Array(ffmpeg(PCM, new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength), ['-c:a', 'g722', ...G722]));
const ffDecode = (codes: Uint8Array): Int16Array => int16(ffmpeg(G722, codes, PCM));


function tone(freq: number, amp: number, n: number): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * freq * i) / RATE)));
}

function energy(x: ArrayLike<number>, from: number, to: number): number {
  let e = 0;
  for (let i = from; i < to; i++) e += x[i]! * x[i]!;
  return e;
}

/** Power of `x[from..to)` at `freq` (Goertzel), normalised so a pure tone there gives its whole energy. */
function powerAt(x: ArrayLike<number>, from: number, to: number, freq: number): number {
  const w = (2 * Math.PI * freq) / RATE;
  let re = 0;
  let im = 0;
  for (let i = from; i < to; i++) {
    re += x[i]! * Math.cos(w * i);
    im += x[i]! * Math.sin(w * i);
  }
  return (2 * (re * re + im * im)) / (to - from);
}

/** The lag (0..maxLag) at which `y` best matches `x` (normalised cross-correlation). */
function bestLag(x: Int16Array, y: Int16Array, maxLag: number): number {
  let best = 0;
  let bestC = -Infinity;
  for (let lag = 0; lag <= maxLag; lag++) {
    let c = 0;
    let ey = 0;
    for (let i = 0; i + lag < y.length && i < x.length; i++) {
      c += x[i]! * y[i + lag]!;
      ey += y[i + lag]! * y[i + lag]!;
    }
    const nc = c / Math.sqrt(ey || 1);
    if (nc > bestC) {
      bestC = nc;
      best = lag;
    }
  }
  return best;
}

function snrDb(x: Int16Array, y: Int16Array, lag: number): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i + lag < y.length && i < x.length; i++) {
    const e = x[i]! - y[i + lag]!;
    s += x[i]! * x[i]!;
    n += e * e;
  }
  return 10 * Math.log10(s / n);
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfd-g722-'));
  speech = int16(ffmpeg([], SPEECH, PCM));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('G.722 parity with ffmpeg (libavcodec g722)', () => {
  it('encodes real speech to the same octets as ffmpeg, and decodes them to the same samples', () => {
    expect(speech.length).toBeGreaterThan(100_000);
    const ffBytes = ffEncode(speech);
    const mine = new G722Encoder().encode(speech);
    expect(mine.length).toBe(speech.length / 2);
    expect(ffBytes.length).toBe(mine.length);
    expect(Buffer.from(mine).equals(Buffer.from(ffBytes))).toBe(true);

    const ffPcm = ffDecode(ffBytes);
    const dec = new G722Decoder().decode(ffBytes);
    expect(dec.length).toBe(ffPcm.length);
    expect(Buffer.from(dec.buffer, dec.byteOffset, dec.byteLength).equals(Buffer.from(ffPcm.buffer))).toBe(true);
  });

  it('decodes random octets (every code, predictors and scale factors pushed to their limits) exactly as ffmpeg', () => {
    const r = prng(722);
    const codes = new Uint8Array(48_000);
    for (let i = 0; i < 256; i++) codes[i] = i;
    for (let i = 256; i < codes.length; i++) codes[i] = Math.floor(r() * 256);
    // A run of the largest codes saturates DETL/DETH and the reconstructed signals.
    codes.fill(0x20, 20_000, 24_000);
    codes.fill(0x04, 30_000, 34_000);
    const ref = ffDecode(codes);
    const dec = new G722Decoder().decode(codes);
    expect(Array.from(dec)).toEqual(Array.from(ref));
  });

  it('encodes clipping input (full-scale noise, square waves) exactly as ffmpeg', () => {
    const r = prng(9);
    const n = 3 * RATE;
    const x = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      if (i < RATE) x[i] = r() < 0.5 ? -32768 : 32767;
      else if (i < 2 * RATE) x[i] = Math.floor(i / 5) % 2 ? 32767 : -32768;
      else x[i] = Math.round((r() - 0.5) * 65535);
    }
    const ffBytes = ffEncode(x);
    expect(Array.from(new G722Encoder().encode(x))).toEqual(Array.from(ffBytes));
    // The decoder output of those octets clips at int16 in both.
    expect(Array.from(new G722Decoder().decode(ffBytes))).toEqual(Array.from(ffDecode(ffBytes)));
  });
});

describe('G.722 round trip', () => {
  it(`keeps real speech above 10 dB SNR after the codec delay of ${G722_DELAY_SAMPLES} samples`, () => {
    const y = new G722Decoder().decode(new G722Encoder().encode(speech));
    const lag = bestLag(speech, y, 64);
    // Two 24-tap linear-phase QMFs: 11.5 + 11.5 samples, less the one-sample offset of the octet pairs.
    expect(lag).toBe(G722_DELAY_SAMPLES);
    expect(snrDb(speech, y, lag)).toBeGreaterThan(10);
  });

  it.each([
    [1000, 'lower'],
    [6000, 'higher'],
  ])('passes a %i Hz tone through the %s sub-band at its level and frequency', (freq) => {
    const x = tone(freq, 10_000, RATE);
    const y = new G722Decoder().decode(new G722Encoder().encode(x));
    // Skip the first 100 ms (scale factor adaptation).
    const from = 1600;
    const to = RATE - 64;
    const ratioDb = 10 * Math.log10(energy(y, from + G722_DELAY_SAMPLES, to + G722_DELAY_SAMPLES) / energy(x, from, to));
    expect(Math.abs(ratioDb)).toBeLessThan(3);
    // Most of the output is still at `freq` (a 6 kHz tone is not folded to 2 kHz by the QMF).
    const atFreq = powerAt(y, from, to, freq) / (energy(y, from, to) / (to - from));
    expect(atFreq).toBeGreaterThan(0.9);
    expect(snrDb(x, y, G722_DELAY_SAMPLES)).toBeGreaterThan(10);
  });
});

describe('G.722 streaming state', () => {
  it('decodes a stream in 160-octet RTP packets exactly as in one piece', () => {
    const codes = new G722Encoder().encode(speech);
    const whole = new G722Decoder().decode(codes);
    const dec = new G722Decoder();
    const out = new Int16Array(320);
    const joined = new Int16Array(whole.length);
    for (let at = 0; at < codes.length; at += 160) {
      const pcm = dec.decode(codes.subarray(at, at + 160), out);
      expect(pcm.buffer).toBe(out.buffer);
      joined.set(pcm, 2 * at);
    }
    expect(Array.from(joined)).toEqual(Array.from(whole));
  });

  it('encodes in chunks of any length (odd ones keep a sample) exactly as in one piece', () => {
    const whole = new G722Encoder().encode(speech);
    const enc = new G722Encoder();
    const joined: number[] = [];
    const sizes = [1, 319, 320, 3, 160, 0, 641, 2];
    for (let at = 0, k = 0; at < speech.length; k++) {
      const n = sizes[k % sizes.length]!;
      joined.push(...enc.encode(speech.subarray(at, at + n)));
      at += n;
    }
    expect(joined.length).toBe(whole.length);
    expect(joined).toEqual(Array.from(whole));
  });

  it('reset() starts a new stream', () => {
    const codes = new G722Encoder().encode(speech.subarray(0, 8000));
    const dec = new G722Decoder();
    const first = Array.from(dec.decode(codes));
    dec.decode(codes);
    dec.reset();
    expect(Array.from(dec.decode(codes))).toEqual(first);
    const enc = new G722Encoder();
    enc.encode(speech.subarray(0, 4001));
    enc.reset();
    expect(Array.from(enc.encode(speech.subarray(0, 8000)))).toEqual(Array.from(codes));
  });

  it('refuses an output buffer that is too short with ERR_RANGE', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return isDfdError(e) ? e.code : 'other';
      }
      return undefined;
    };
    expect(code(() => new G722Decoder().decode(new Uint8Array(160), new Int16Array(319)))).toBe('ERR_RANGE');
    expect(code(() => new G722Encoder().encode(new Int16Array(320), new Uint8Array(159)))).toBe('ERR_RANGE');
    const enc = new G722Encoder();
    enc.encode(new Int16Array(1));
    // The kept sample makes 3 input samples into 2 octets.
    expect(enc.outputLength(3)).toBe(2);
    expect(code(() => enc.encode(new Int16Array(3), new Uint8Array(1)))).toBe('ERR_RANGE');
    expect(enc.encode(new Int16Array(3), new Uint8Array(2)).length).toBe(2);
    expect(new G722Decoder().decode(new Uint8Array(0)).length).toBe(0);
  });
});
