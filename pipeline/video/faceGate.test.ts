import { describe, expect, it } from 'vitest';
import { faceLumaGrid, faceWindowIssue, frameFaceIssue, gridDiff } from './faceGate.js';

const face = (x: number, y: number, w: number, h = w) => ({ box: { x, y, width: w, height: h } });
const B = 16 * 16 * 3;

function crop(value: number, noise = 0, seed = 1): Uint8Array {
  const c = new Uint8Array(B);
  let s = seed;
  for (let i = 0; i < B; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    c[i] = Math.max(0, Math.min(255, value + Math.round(((s >>> 24) / 255 - 0.5) * 2 * noise)));
  }
  return c;
}

describe('face gate', () => {
  it('a second face of comparable size makes the frame ambiguous; a small background face does not', () => {
    const main = face(100, 100, 150);
    expect(frameFaceIssue([main], main, 640, 480)).toBeUndefined();
    expect(frameFaceIssue([main, face(400, 100, 100)], main, 640, 480)).toBe('several-faces');
    expect(frameFaceIssue([main, face(400, 100, 60)], main, 640, 480)).toBeUndefined();
  });

  it('a face box more than 10 % outside the frame is cut off', () => {
    const edge = face(-10, 100, 150); // 6.7 % outside
    expect(frameFaceIssue([edge], edge, 640, 480)).toBeUndefined();
    const cut = face(-30, 100, 150); // 20 % outside
    expect(frameFaceIssue([cut], cut, 640, 480)).toBe('face-at-edge');
    const low = face(300, 400, 150); // 47 % below the frame
    expect(frameFaceIssue([low], low, 640, 480)).toBe('face-at-edge');
  });

  it('a face region that does not change between frames is a frozen picture; one change is enough; dark crops are too dark', () => {
    const c = crop(120, 4, 7);
    expect(faceWindowIssue([c, c, c], B, new Set(), [0.1, 0.2])).toBe('frozen');
    // a participant who holds still for part of a second is not frozen
    expect(faceWindowIssue([c, c, c], B, new Set(), [0.1, 0.9])).toBeUndefined();
    // no pair to compare (a single frame after a frame without a face): not judged frozen
    expect(faceWindowIssue([c], B, new Set(), [])).toBeUndefined();
    expect(faceWindowIssue([crop(8, 3, 1), crop(8, 3, 2)], B, new Set(), [3])).toBe('dark');
  });

  it('grids the face box of the frame and measures their change', () => {
    const frame = { width: 64, height: 48, rgb: new Uint8Array(64 * 48 * 3).fill(100) };
    const box = { x: 8, y: 8, width: 32, height: 32 };
    const a = faceLumaGrid(frame, box);
    expect(a.length).toBe(24 * 24);
    expect(a.every((v) => Math.abs(v - 100) < 1e-3)).toBe(true);
    expect(gridDiff(a, faceLumaGrid(frame, box))).toBe(0);
    const brighter = { ...frame, rgb: new Uint8Array(64 * 48 * 3).fill(102) };
    expect(gridDiff(a, faceLumaGrid(brighter, box))).toBeCloseTo(2, 3);
    // a box partly outside the frame grids only what is inside; the outside cells read 0
    const out = faceLumaGrid(frame, { x: -16, y: 8, width: 32, height: 32 });
    expect(out[0]).toBe(0);
    expect(out[23]).toBeCloseTo(100, 3);
  });

  it('reports one issue, the frames\' first, in a fixed order', () => {
    const still = crop(5, 0);
    expect(faceWindowIssue([still, still], B, new Set(['face-at-edge', 'several-faces']), [0])).toBe('several-faces');
    expect(faceWindowIssue([still, still], B, new Set(['face-at-edge']), [0])).toBe('face-at-edge');
    expect(faceWindowIssue([still, still], B, new Set(), [0])).toBe('frozen');
    expect(faceWindowIssue([still, still], B, new Set(), [5])).toBe('dark');
  });
});
