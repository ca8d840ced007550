import { describe, expect, it } from 'vitest';
import { faceWindowIssue, frameFaceIssue } from './faceGate.js';

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

  it('identical crops are a frozen picture; sensor noise or motion is not; dark crops are too dark', () => {
    const still = crop(120, 4, 7);
    expect(faceWindowIssue([still, still, still], B, new Set())).toBe('frozen');
    expect(faceWindowIssue([crop(120, 4, 1), crop(120, 4, 2), crop(120, 4, 3)], B, new Set())).toBeUndefined();
    // one changing pair is enough: a participant who holds still for part of a second is not frozen
    expect(faceWindowIssue([still, still, crop(121, 4, 9)], B, new Set())).toBeUndefined();
    expect(faceWindowIssue([crop(8, 3, 1), crop(8, 3, 2)], B, new Set())).toBe('dark');
    expect(faceWindowIssue([crop(120, 4, 1)], B, new Set())).toBeUndefined();
  });

  it('reports one issue, the frames\' first, in a fixed order', () => {
    const still = crop(5, 0);
    expect(faceWindowIssue([still, still], B, new Set(['face-at-edge', 'several-faces']))).toBe('several-faces');
    expect(faceWindowIssue([still, still], B, new Set(['face-at-edge']))).toBe('face-at-edge');
    expect(faceWindowIssue([still, still], B, new Set())).toBe('frozen');
  });
});
