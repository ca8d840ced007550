import { describe, expect, it } from 'vitest';
import { crc32, detPng, encodePng, probit, Raster, readPng, rocPng } from './plots.js';

describe('PNG encoder', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32(Buffer.from('IEND'))).toBe(0xae426082);
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });
  it('round-trips pixels through a strict reader', () => {
    const w = 3;
    const h = 2;
    const rgb = new Uint8Array(Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256));
    const p = readPng(encodePng(w, h, rgb));
    expect([p.width, p.height, p.colourType]).toEqual([3, 2, 2]);
    expect(p.rows.length).toBe(h * (1 + w * 3));
    for (let y = 0; y < h; y++) {
      expect(p.rows[y * (1 + w * 3)]).toBe(0);
      expect([...p.rows.subarray(y * (1 + w * 3) + 1, (y + 1) * (1 + w * 3))]).toEqual([...rgb.subarray(y * w * 3, (y + 1) * w * 3)]);
    }
  });
});

describe('raster', () => {
  it('draws lines end to end and text inside the image', () => {
    const r = new Raster(20, 10, [255, 255, 255]);
    r.line(0, 0, 19, 9, [0, 0, 0]);
    expect([...r.rgb.subarray(0, 3)]).toEqual([0, 0, 0]);
    expect([...r.rgb.subarray((9 * 20 + 19) * 3, (9 * 20 + 19) * 3 + 3)]).toEqual([0, 0, 0]);
    const t = new Raster(40, 10, [255, 255, 255]);
    expect(t.text(1, 1, 'A1%', [0, 0, 0])).toBe(18);
    expect(t.rgb.some((v) => v === 0)).toBe(true);
  });
});

describe('probit', () => {
  it('inverts the normal CDF', () => {
    expect(probit(0.5)).toBeCloseTo(0, 9);
    expect(probit(0.975)).toBeCloseTo(1.959964, 5);
    expect(probit(0.001)).toBeCloseTo(-3.090232, 5);
    expect(probit(0)).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe('ROC and DET plots', () => {
  it('are valid PNG files of the requested size with the curve colour on them', () => {
    const bona = [-2, -1, -0.5, 0.2, 1];
    const spoof = [-0.3, 0.5, 1.5, 2, 3];
    for (const png of [rocPng(bona, spoof, { title: 'ROC TEST', size: 320 }), detPng(bona, spoof, { title: 'DET TEST', size: 320, eer: 0.2 })]) {
      const p = readPng(png);
      expect([p.width, p.height]).toEqual([320, 320]);
      expect(p.rows.length).toBe(320 * (1 + 320 * 3));
      let curve = 0;
      for (let i = 0; i + 2 < p.rows.length; i++) if (p.rows[i] === 31 && p.rows[i + 1] === 119 && p.rows[i + 2] === 180) curve++;
      expect(curve).toBeGreaterThan(50);
    }
  });
});
