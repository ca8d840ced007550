import { describe, expect, it } from 'vitest';
import { EvidenceAccumulator, logit, sigmoid } from './EvidenceAccumulator.js';

describe('EvidenceAccumulator', () => {
  it('weights log-odds by evidence', () => {
    const a = new EvidenceAccumulator();
    a.addScore(0.9, 3, 0);
    a.addScore(0.2, 1, 0);
    const s = a.snapshot(0);
    expect(s.logOdds).toBeCloseTo((3 * logit(0.9) + 1 * logit(0.2)) / 4, 10);
    expect(s.pFake).toBeCloseTo(sigmoid(s.logOdds), 12);
    expect(s.evidence).toBe(4);
    expect(s.windows).toBe(2);
  });

  it('keeps the seconds of input apart from the weighted evidence, decayed alike', () => {
    const a = new EvidenceAccumulator({ halfLifeMs: 1000 });
    a.addScore(0.9, 0.5, 0, 2); // a 2 s window of a detector with verdict weight 0.25
    a.addScore(0.9, 1, 0); // seconds default to the evidence
    expect(a.snapshot(0)).toMatchObject({ evidence: 1.5, seconds: 3 });
    expect(a.snapshot(1000).seconds).toBeCloseTo(1.5, 10);
    a.addScore(0.9, 1, 1000, Number.NaN);
    a.addScore(0.9, 1, 1000, -1);
    expect(a.snapshot(1000)).toMatchObject({ windows: 2 });
    a.reset();
    expect(a.snapshot(1000).seconds).toBe(0);
  });

  it('decays evidence with the half-life; newer windows outweigh old ones', () => {
    const a = new EvidenceAccumulator({ halfLifeMs: 1000 });
    a.addScore(0.1, 4, 0);
    expect(a.snapshot(1000).evidence).toBeCloseTo(2, 10);
    expect(a.snapshot(2000).evidence).toBeCloseTo(1, 10);
    a.addScore(0.9, 1, 2000);
    const s = a.snapshot(2000);
    // Old evidence decayed to weight 1: equal weights now.
    expect(s.logOdds).toBeCloseTo((logit(0.1) + logit(0.9)) / 2, 10);
    expect(s.totalEvidence).toBe(5);
  });

  it('clamps extreme windows and ignores non-finite input', () => {
    const a = new EvidenceAccumulator({ maxAbsLogOdds: 2 });
    a.addScore(1, 1, 0);
    a.addScore(Number.NaN, 1, 0);
    a.addScore(0.5, -1, 0);
    expect(a.snapshot(0)).toMatchObject({ logOdds: 2, windows: 1, evidence: 1 });
  });

  it('tracks the recent dropped fraction with the same decay', () => {
    const a = new EvidenceAccumulator({ halfLifeMs: 1000 });
    a.addScore(0.5, 1, 0);
    a.addDropped(3, 0);
    expect(a.snapshot(0).droppedFraction).toBeCloseTo(0.75, 10);
    for (let t = 1; t <= 10; t++) a.addScore(0.5, 1, t * 1000);
    const s = a.snapshot(10_000);
    expect(s.droppedFraction).toBeLessThan(0.01);
    expect(s.dropped).toBe(3);
  });

  it('out-of-order timestamps do not decay backwards', () => {
    const a = new EvidenceAccumulator({ halfLifeMs: 1000 });
    a.addScore(0.8, 2, 5000);
    a.addScore(0.8, 2, 4000);
    expect(a.snapshot(5000).evidence).toBeCloseTo(4, 10);
  });
});
