import { describe, expect, it } from 'vitest';
import { defaultDescribablePose, describableIndex } from './FaceDescriber.js';

describe('describableIndex (which crop of a face window is described)', () => {
  it('takes the most frontal pose within the limits', () => {
    expect(describableIndex([{ yawDeg: 12, pitchDeg: 3 }, { yawDeg: -4, pitchDeg: 2 }, { yawDeg: 1, pitchDeg: -9 }])).toBe(1);
  });
  it('describes nothing when every face is turned away or tilted beyond the limits (a head turn is not another person)', () => {
    expect(describableIndex([{ yawDeg: 40, pitchDeg: 0 }, { yawDeg: -31, pitchDeg: 2 }, { yawDeg: 0, pitchDeg: 25 }])).toBeUndefined();
    expect(describableIndex([])).toBeUndefined();
    expect(describableIndex([{ yawDeg: Number.NaN, pitchDeg: 0 }])).toBeUndefined();
    expect(defaultDescribablePose).toEqual({ maxYawDeg: 25, maxPitchDeg: 20 });
    expect(describableIndex([{ yawDeg: 25, pitchDeg: 20 }])).toBe(0);
    expect(describableIndex([{ yawDeg: 10, pitchDeg: 0 }], { maxYawDeg: 5, maxPitchDeg: 5 })).toBeUndefined();
  });
});
