/**
 * Fuzz: G.722 payloads (RTP payload type 9 from a SIP leg). Every octet is a valid G.722 code,
 * so the decoder must take any payload: it returns exactly two int16 samples per octet, its
 * output does not depend on how the stream is cut into packets, and reset() forgets any garbage
 * it saw. The encoder takes any int16 input cut into any chunks (odd ones included) and gives
 * the same octets as in one piece; a short `out` is refused with ERR_RANGE, never written past.
 * Bit-exactness with ffmpeg is checked in G722.test.ts (48,000 random octets, speech, clipping).
 * No corpus: there is no input the decoder refuses.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FuzzBoundary, outcome } from '../../test/helpers/fuzz.js';
import { G722Decoder, G722Encoder } from './G722.js';

const fuzz = new FuzzBoundary('g722');

/** Cuts `n` items at the sorted positions `cuts` (taken modulo n + 1). */
function pieces(n: number, cuts: number[]): [number, number][] {
  const at = [0, ...cuts.map((c) => c % (n + 1)).sort((a, b) => a - b), n];
  return at.slice(1).map((end, i) => [at[i]!, end]);
}

const realCodes = new G722Encoder().encode(
  Int16Array.from({ length: 3200 }, (_, i) => Math.round(8000 * Math.sin(i * 0.19) + 3000 * Math.sin(i * 2.4) + 500 * Math.sin(i * i * 0.001))),
);

describe('fuzz: G.722 payloads', () => {
  it('decodes any octets cut into any packets exactly as in one piece, two samples per octet', () => {
    fuzz.check(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 8 }), fc.nat({ max: 16 }), (codes, cuts, spare) => {
        const whole = new G722Decoder().decode(codes);
        expect(whole.length).toBe(2 * codes.length);
        const dec = new G722Decoder();
        const out = new Int16Array(2 * codes.length + spare).fill(0x5555);
        const joined = new Int16Array(whole.length);
        for (const [a, b] of pieces(codes.length, cuts)) {
          const pcm = dec.decode(codes.subarray(a, b), out);
          expect(pcm.length).toBe(2 * (b - a));
          joined.set(pcm, 2 * a);
        }
        // Nothing written past the decoded samples.
        for (let i = 2 * codes.length; i < out.length; i++) expect(out[i]).toBe(0x5555);
        expect(Buffer.from(joined.buffer).equals(Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength))).toBe(true);
      }),
    );
  });

  it('reset() after any garbage decodes a real stream as a fresh decoder does', () => {
    const fresh = Array.from(new G722Decoder().decode(realCodes));
    fuzz.check(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 4000 }), (garbage) => {
        const dec = new G722Decoder();
        dec.decode(garbage);
        dec.reset();
        expect(Array.from(dec.decode(realCodes))).toEqual(fresh);
      }),
      0.5,
    );
  });

  it('encodes any int16 input cut into any chunks exactly as in one piece', () => {
    fuzz.check(
      fc.property(fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 8 }), (samples, cuts) => {
        const pcm = Int16Array.from(samples);
        const whole = new G722Encoder().encode(pcm);
        expect(whole.length).toBe(pcm.length >> 1);
        const enc = new G722Encoder();
        const joined: number[] = [];
        for (const [a, b] of pieces(pcm.length, cuts)) {
          const want = enc.outputLength(b - a);
          const bytes = enc.encode(pcm.subarray(a, b));
          expect(bytes.length).toBe(want);
          joined.push(...bytes);
        }
        expect(joined).toEqual(Array.from(whole));
      }),
    );
  });

  it('refuses any too-short output buffer with ERR_RANGE and keeps its state', () => {
    fuzz.check(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.nat(), fc.boolean(), (n, short, odd) => {
        const codes = realCodes.subarray(0, n);
        const dec = new G722Decoder();
        expect(outcome(() => dec.decode(codes, new Int16Array(short % (2 * n))), ['ERR_RANGE'])).toBe('ERR_RANGE');
        expect(Array.from(dec.decode(codes))).toEqual(Array.from(new G722Decoder().decode(codes)));

        const enc = new G722Encoder();
        if (odd) enc.encode(new Int16Array(1));
        const pcm = new Int16Array(2 * n);
        const need = enc.outputLength(pcm.length);
        expect(outcome(() => enc.encode(pcm, new Uint8Array(short % need)), ['ERR_RANGE'])).toBe('ERR_RANGE');
        expect(enc.encode(pcm).length).toBe(need);
      }),
    );
  });
});
