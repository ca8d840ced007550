import { describe, expect, it } from 'vitest';
import { faceWindow } from '../../detectors/testing/windows.js';
import { scoredFrames, subsampleFaceWindow } from './frameSubsample.js';

describe('scoredFrames', () => {
  it('scores every frame for k 0 or k >= frames', () => {
    expect(scoredFrames(3, 5, 0)).toEqual([0, 1, 2, 3, 4]);
    expect(scoredFrames(3, 5, 5)).toEqual([0, 1, 2, 3, 4]);
    expect(scoredFrames(3, 2, 4)).toEqual([0, 1]);
  });

  it('rotates k consecutive frames so five windows cover every position twice for k = 2', () => {
    const seen = new Array<number>(5).fill(0);
    for (let seq = 0; seq < 5; seq++) {
      const rows = scoredFrames(seq, 5, 2);
      expect(rows).toHaveLength(2);
      for (const r of rows) seen[r]!++;
    }
    expect(seen).toEqual([2, 2, 2, 2, 2]);
    expect(scoredFrames(0, 5, 2)).toEqual([0, 1]);
    expect(scoredFrames(2, 5, 2)).toEqual([0, 4]);
  });

  it('takes negative and huge sequence numbers without leaving the window', () => {
    for (const seq of [-7, -1, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) {
      const rows = scoredFrames(seq, 5, 3);
      expect(rows).toHaveLength(3);
      for (const r of rows) expect(r >= 0 && r < 5 && Number.isInteger(r)).toBe(true);
    }
  });
});

describe('subsampleFaceWindow', () => {
  it('copies the scored crops into a window of its own and leaves the original untouched', () => {
    const w = faceWindow({ seq: 1, frames: 5, size: 8, seed: 3 });
    const before = w.crops.slice();
    const s = subsampleFaceWindow(w, 2);
    expect(s.frames).toBe(2);
    expect(s.crops.buffer).not.toBe(w.crops.buffer);
    const size = 8 * 8 * 3;
    expect(s.crops.subarray(0, size)).toEqual(w.crops.subarray(2 * size, 3 * size));
    expect(s.crops.subarray(size)).toEqual(w.crops.subarray(3 * size, 4 * size));
    expect({ wallStart: s.wallStart, wallEnd: s.wallEnd, seq: s.seq }).toEqual({ wallStart: w.wallStart, wallEnd: w.wallEnd, seq: w.seq });
    expect(w.crops).toEqual(before);
    expect(subsampleFaceWindow(w, 0)).toBe(w);
  });
});
