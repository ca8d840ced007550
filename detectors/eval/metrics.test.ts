import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isDfdError } from '../../kernel/errors.js';
import { asvspoof5DcfParams, auc, eer, minDcf, operatingPoints, summarise } from './metrics.js';

describe('eer', () => {
  it('is 0 for perfectly separated scores', () => {
    expect(eer([0, 1], [2, 3]).eer).toBe(0);
    expect(eer([0, 1], [2, 3]).threshold).toBe(2);
  });
  it('is 1 for perfectly inverted scores', () => {
    expect(eer([2, 3], [0, 1]).eer).toBe(1);
  });
  it('is 0.5 for interleaved scores', () => {
    // t = 2: bona {2} rejected (1/2), spoof {1} accepted (1/2)
    expect(eer([0, 2], [1, 3])).toEqual({ eer: 0.5, threshold: 2 });
  });
  it('is 0.5 when all scores tie', () => {
    expect(eer([1, 1, 1], [1, 1]).eer).toBe(0.5);
  });
  it('interpolates between operating points on unbalanced sets', () => {
    // bona 0,1,2,5 ; spoof 3,4 -> t=3: (pMiss 1/4, pFa 0), t=4: (1/4, 1/2); crossing halfway -> 0.25
    expect(eer([0, 1, 2, 5], [3, 4])).toEqual({ eer: 0.25, threshold: 4 });
    // one bona between two spoofs: (1, 1/2) -> (0, 1/2) crosses at 0.5
    expect(eer([1], [0, 2]).eer).toBeCloseTo(0.5, 12);
  });
  it('lies between 0 and 1 and is symmetric under swapping and negating', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 1, maxLength: 15 }),
        fc.array(fc.integer({ min: -4, max: 4 }), { minLength: 1, maxLength: 15 }),
        (b, s) => {
          const e = eer(b, s).eer;
          expect(e).toBeGreaterThanOrEqual(0);
          expect(e).toBeLessThanOrEqual(1);
          // negating scores and swapping classes describes the same detector
          expect(eer(s.map((v) => -v), b.map((v) => -v)).eer).toBeCloseTo(e, 9);
        },
      ),
    );
  });
});

describe('auc', () => {
  it('matches hand-computed pair counts', () => {
    expect(auc([0, 1], [2, 3])).toBe(1);
    expect(auc([2, 3], [0, 1])).toBe(0);
    // pairs (spoof > bona): 1>0, 3>0, 3>2 -> 3 of 4
    expect(auc([0, 2], [1, 3])).toBe(0.75);
    // ties count half: spoof 1 vs bona 1 -> 0.5 ; spoof 1 vs bona 0 -> 1 => 1.5 / 2
    expect(auc([0, 1], [1])).toBe(0.75);
  });
  it('equals the brute-force Mann-Whitney statistic', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 20 }),
        (b, s) => {
          let w = 0;
          for (const x of s) for (const y of b) w += x > y ? 1 : x === y ? 0.5 : 0;
          expect(auc(b, s)).toBeCloseTo(w / (b.length * s.length), 12);
        },
      ),
    );
  });
});

describe('minDcf', () => {
  it('is 0 for separated scores and at most 1 always', () => {
    expect(minDcf([0, 1], [2, 3]).minDcf).toBe(0);
    expect(minDcf([2, 3], [0, 1]).minDcf).toBe(1);
  });
  it('matches a hand computation with ASVspoof 5 costs', () => {
    // Operating points for bona [0,2], spoof [1,3]: (pMiss,pFa) = (1,0),(1/2,0),(1/2,1/2),(0,1/2),(0,1).
    // norm = min(0.95, 0.5) = 0.5. DCF(1/2,0) = 0.95*0.5/0.5 = 0.95 ; DCF(0,1/2) = 0.5*0.5/0.5 = 0.5.
    expect(minDcf([0, 2], [1, 3], asvspoof5DcfParams).minDcf).toBeCloseTo(0.5, 12);
  });
  it('stays within [0, 1] for random scores', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 30 }),
        (b, s) => {
          const d = minDcf(b, s).minDcf;
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(1 + 1e-12);
        },
      ),
    );
  });
});

describe('operatingPoints and input checks', () => {
  it('runs from everything-spoof to everything-bona', () => {
    const pts = operatingPoints([0, 2], [1, 3]);
    expect(pts[0]).toEqual({ threshold: 0, pMiss: 1, pFa: 0 });
    expect(pts.at(-1)).toEqual({ threshold: Number.POSITIVE_INFINITY, pMiss: 0, pFa: 1 });
  });
  it('rejects empty classes and non-finite scores with a coded error', () => {
    expect(() => eer([], [1])).toThrow();
    try {
      auc([Number.NaN], [1]);
      expect.unreachable();
    } catch (e) {
      expect(isDfdError(e, 'ERR_BAD_REQUEST')).toBe(true);
    }
  });
  it('summarise bundles the three metrics', () => {
    const s = summarise([0, 2], [1, 3]);
    expect(s).toMatchObject({ bona: 2, spoof: 2, eer: 0.5, auc: 0.75 });
    expect(s.minDcf).toBeCloseTo(0.5, 12);
  });
});
