import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isDfdError } from '../../kernel/errors.js';
import { actDcf, bayesThreshold, cllr, log2OnePlusExp, minCllr } from './calibrationMetrics.js';
import { asvspoof5DcfParams, auc, eer, minDcf } from './metrics.js';

describe('ranking metrics on sets with known answers (metrics.ts, as the eval tool uses them)', () => {
  it('EER, AUROC and minDCF of a hand-worked interleaved set', () => {
    // bona 0,2 ; spoof 1,3. Operating points (pMiss, pFa): t=0 (1,0) t=1 (.5,0) t=2 (.5,.5) t=3 (0,.5) t=inf (0,1)
    expect(eer([0, 2], [1, 3]).eer).toBe(0.5);
    // pairs (spoof > bona): 1>0, 3>0, 3>2 -> 3 of 4
    expect(auc([0, 2], [1, 3])).toBe(0.75);
    // ASVspoof 5 normalised DCF = (0.95 pMiss + 0.5 pFa) / 0.5; best at t=3: 0.25 / 0.5
    expect(minDcf([0, 2], [1, 3], asvspoof5DcfParams)).toEqual({ minDcf: 0.5, threshold: 3 });
  });
  it('perfect and inverted separation', () => {
    expect(eer([0, 1], [2, 3]).eer).toBe(0);
    expect(auc([0, 1], [2, 3])).toBe(1);
    expect(minDcf([0, 1], [2, 3]).minDcf).toBe(0);
    expect(auc([2, 3], [0, 1])).toBe(0);
    // inverted: no threshold beats the trivial system
    expect(minDcf([2, 3], [0, 1]).minDcf).toBe(1);
  });
});

describe('cllr', () => {
  it('is exactly 1 for uninformative scores (all zero log-odds)', () => {
    expect(cllr([0, 0, 0], [0, 0])).toBe(1);
  });
  it('matches a hand-computed value', () => {
    // spoof z = ln 3 -> log2(1 + 1/3); bona z = 0 -> log2(2) = 1
    expect(cllr([0], [Math.log(3)])).toBeCloseTo(0.5 * (Math.log2(4 / 3) + 1), 12);
    // bona z = -ln 3 and spoof z = ln 3 -> both terms log2(4/3)
    expect(cllr([-Math.log(3)], [Math.log(3)])).toBeCloseTo(Math.log2(4 / 3), 12);
  });
  it('tends to 0 for confident correct scores and grows without bound for confident wrong ones', () => {
    expect(cllr([-50], [50])).toBeLessThan(1e-20);
    expect(cllr([50], [-50])).toBeCloseTo(50 / Math.LN2, 6);
  });
  it('log2(1 + e^x) is stable at the extremes', () => {
    expect(log2OnePlusExp(1000)).toBeCloseTo(1000 / Math.LN2, 6);
    expect(log2OnePlusExp(-1000)).toBe(0);
    expect(log2OnePlusExp(0)).toBe(1);
    expect(log2OnePlusExp(Number.NEGATIVE_INFINITY)).toBe(0);
  });
  it('rejects empty classes with a typed error', () => {
    try {
      cllr([], [1]);
      expect.unreachable();
    } catch (e) {
      expect(isDfdError(e) && e.code).toBe('ERR_BAD_REQUEST');
    }
  });
});

describe('minCllr', () => {
  it('is 0 for separable scores and 1 when every score ties', () => {
    expect(minCllr([0, 1], [2, 3])).toBe(0);
    expect(minCllr([5, 5, 5], [5, 5])).toBeCloseTo(1, 12);
  });
  it('matches a hand-worked PAV result', () => {
    // sorted: 0 b, 1 s, 2 b, 3 s -> PAV blocks {b} {s,b} {s}: LLR -inf, 0, +inf (prior 1:1)
    // spoof costs: 1 (middle block) + 0 ; bona: 0 + 1 -> 0.5 * (1/2 + 1/2)
    expect(minCllr([0, 2], [1, 3])).toBeCloseTo(0.5, 12);
  });
  it('never exceeds Cllr nor 1, and ignores monotonic rescaling', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -6, max: 6 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: -6, max: 6 }), { minLength: 1, maxLength: 12 }),
        (b, s) => {
          const m = minCllr(b, s);
          expect(m).toBeLessThanOrEqual(cllr(b, s) + 1e-9);
          expect(m).toBeLessThanOrEqual(1 + 1e-9);
          expect(m).toBeGreaterThanOrEqual(0);
          expect(minCllr(b.map((v) => 3 * v + 1), s.map((v) => 3 * v + 1))).toBeCloseTo(m, 9);
        },
      ),
    );
  });
});

describe('actDcf', () => {
  it('matches a hand-computed value at pFake 0.5', () => {
    // bona 0.1, 0.7 -> 0.7 flagged: pMiss 1/2 ; spoof 0.9, 0.3 -> 0.3 passed: pFa 1/2
    const r = actDcf([0.1, 0.7], [0.9, 0.3], 0.5);
    expect(r.pMiss).toBe(0.5);
    expect(r.pFa).toBe(0.5);
    // (1 * 0.95 * 0.5 + 10 * 0.05 * 0.5) / min(0.95, 0.5)
    expect(r.actDcf).toBeCloseTo(1.45, 12);
  });
  it('is 1 when nothing is flagged and 1.9 when everything is', () => {
    expect(actDcf([0.1, 0.2], [0.3, 0.4], 0.99).actDcf).toBeCloseTo(1, 12);
    expect(actDcf([0.1, 0.2], [0.3, 0.4], 0).actDcf).toBeCloseTo(1.9, 12);
  });
  it('counts pFake equal to the threshold as flagged', () => {
    expect(actDcf([0.6], [0.6], 0.6)).toMatchObject({ pMiss: 1, pFa: 0 });
  });
  it('is never below minDCF when computed on the same ordering', () => {
    const sig = (z: number): number => 1 / (1 + Math.exp(-z));
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 1, maxLength: 10 }),
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        (b, s, t) => {
          expect(actDcf(b.map(sig), s.map(sig), t).actDcf).toBeGreaterThanOrEqual(minDcf(b, s).minDcf - 1e-9);
        },
      ),
    );
  });
  it('Bayes threshold for the ASVspoof 5 costs is sigmoid(ln(0.95 / 0.5))', () => {
    expect(bayesThreshold()).toBeCloseTo(0.95 / 1.45, 12);
  });
});
