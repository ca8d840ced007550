import { describe, expect, it } from 'vitest';
import { eer, rocAuc, type Scored } from './faceMetrics.js';

const s = (score: number, label: 0 | 1): Scored => ({ score, label });

describe('faceMetrics', () => {
  it('perfect separation gives AUC 1 and EER 0', () => {
    const items = [s(0.1, 0), s(0.2, 0), s(0.8, 1), s(0.9, 1)];
    expect(rocAuc(items)).toBe(1);
    expect(eer(items).eer).toBe(0);
  });

  it('inverted scores give AUC 0 and EER 1', () => {
    const items = [s(0.9, 0), s(0.8, 0), s(0.2, 1), s(0.1, 1)];
    expect(rocAuc(items)).toBe(0);
    expect(eer(items).eer).toBe(1);
  });

  it('all ties give AUC 0.5', () => {
    expect(rocAuc([s(1, 0), s(1, 1), s(1, 0), s(1, 1)])).toBe(0.5);
  });

  it('matches a hand-computed mixed case', () => {
    // pairs (pos > neg): 0.7>0.3, 0.7>0.6, 0.4>0.3, 0.4<0.6 -> 3/4
    const items = [s(0.3, 0), s(0.6, 0), s(0.4, 1), s(0.7, 1)];
    expect(rocAuc(items)).toBeCloseTo(0.75, 12);
    expect(eer(items).eer).toBeCloseTo(0.5, 12);
  });

  it('is NaN when a class is missing', () => {
    expect(rocAuc([s(1, 0)])).toBeNaN();
    expect(eer([s(1, 1)]).eer).toBeNaN();
  });
});
