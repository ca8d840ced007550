import { describe, expect, it } from 'vitest';
import { aLawDecodeSample, aLawEncodeSample, aLawToMuLaw, aLawEncodeFloat } from './G711A.js';
import { muLawDecodeSample } from './G711.js';

describe('G.711 A-law', () => {
  it('matches G.191 code points', () => {
    // 0xD5 and 0x55 are the two zeros (+8 and -8 in 16-bit units); 0xAA / 0x2A are the extremes.
    expect(aLawDecodeSample(0xd5)).toBe(8);
    expect(aLawDecodeSample(0x55)).toBe(-8);
    expect(aLawDecodeSample(0xaa)).toBe(32256);
    expect(aLawDecodeSample(0x2a)).toBe(-32256);
    expect(aLawEncodeSample(0)).toBe(0xd5);
    expect(aLawEncodeSample(-1)).toBe(0x55);
    expect(aLawEncodeSample(32767)).toBe(0xaa);
    expect(aLawEncodeSample(-32768)).toBe(0x2a);
  });

  it('round-trips every code and stays within one quantisation step for every 16-bit sample', () => {
    for (let c = 0; c < 256; c++) expect(aLawEncodeSample(aLawDecodeSample(c))).toBe(c);
    for (let x = -32768; x <= 32767; x += 7) {
      const y = aLawDecodeSample(aLawEncodeSample(x));
      const step = Math.abs(x) < 512 ? 16 : 2 ** (Math.floor(Math.log2(Math.abs(x))) - 4);
      expect(Math.abs(y - x)).toBeLessThanOrEqual(step);
    }
  });

  it('transcodes to mu-law within the coarser of the two steps', () => {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const mu = aLawToMuLaw(codes);
    for (let c = 0; c < 256; c++) {
      const a = aLawDecodeSample(c);
      const m = muLawDecodeSample(mu[c]!);
      expect(Math.abs(a - m)).toBeLessThanOrEqual(Math.max(64, Math.abs(a) / 16));
    }
    expect(aLawEncodeFloat(Float32Array.from([0, 1, -1]))).toEqual(Uint8Array.from([0xd5, 0xaa, 0x2a]));
  });
});
