/**
 * The refit and its guardrails on call-level scores drawn from known distributions (seeded): a
 * tenant whose genuine callers the shipped calibration scores too high gets a map that moves them
 * down and beats the shipped Cllr on held-out folds; labels that say nothing about the scores are
 * refused ('no-gain'); too few calls are refused ('too-few'); the bounds hold however far the data
 * pulls.
 */
import { describe, expect, it } from 'vitest';
import { cllr, fitAffine, fitGroup, type LabelledScore } from './fitTenantCalibration.js';

/** A seeded normal sampler (mulberry32 + Box-Muller). */
function normal(seed: number): (mean: number, sd: number) => number {
  let t = seed >>> 0;
  const u = (): number => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r ^= r + Math.imul(r ^ (r >>> 7), 61 | r);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  return (mean, sd) => mean + sd * Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

function calls(n: { fake: number; genuine: number }, z: { fake: [number, number]; genuine: [number, number] }, seed = 7): LabelledScore[] {
  const r = normal(seed);
  const out: LabelledScore[] = [];
  for (let i = 0; i < n.fake; i++) out.push({ callId: `f${i}`, z: r(...z.fake), fake: true });
  for (let i = 0; i < n.genuine; i++) out.push({ callId: `g${i}`, z: r(...z.genuine), fake: false });
  return out;
}

/** Calls whose shipped log-odds are right: each is fake with probability sigmoid(z). */
function calibratedCalls(n: number, seed: number): LabelledScore[] {
  const r = normal(seed);
  let s = seed * 7919 + 1;
  const rand = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
  return Array.from({ length: n }, (_, i) => {
    const z = r(0, 2);
    return { callId: `c${i}`, z, fake: rand() < 1 / (1 + Math.exp(-z)) };
  });
}

describe('cllr', () => {
  it('is 1 bit for a detector that says nothing, near 0 for a confident right one, above 1 for a confident wrong one', () => {
    expect(cllr([{ z: 0, fake: true }, { z: 0, fake: false }])).toBeCloseTo(1, 12);
    expect(cllr([{ z: 12, fake: true }, { z: -12, fake: false }])).toBeLessThan(1e-4);
    expect(cllr([{ z: -3, fake: true }, { z: 3, fake: false }])).toBeGreaterThan(3);
    expect(cllr([{ z: 1, fake: true }])).toBeNaN();
  });
});

describe('fitGroup', () => {
  const guard = { minPerClass: 30, maxScale: 2, maxShift: 1.5, minGainBits: 0.02 };

  it('moves a tenant whose genuine callers score high back down, and beats the shipped Cllr on held-out folds', () => {
    // The shipped calibration reads this tenant's line as suspicious: genuine callers around +1, fakes around +3.
    const points = calls({ fake: 60, genuine: 60 }, { fake: [3, 1], genuine: [1, 1] });
    const f = fitGroup(points, guard);
    expect(f.status).toBe('applied');
    expect(f.counts).toEqual({ fake: 60, genuine: 60 });
    expect(f.b).toBeLessThan(-0.5);
    expect(f.cllr!.heldOut).toBeLessThan(f.cllr!.shipped - 0.02);
    expect(f.folds).toBe(5);
    // The genuine mean now reads genuine, the fake mean fake.
    expect(f.a * 1 + f.b).toBeLessThan(0);
    expect(f.a * 3 + f.b).toBeGreaterThan(0);
  });

  it('refuses a refit when the shipped calibration already fits the tenant (no-gain), when the decisions say nothing about the scores (no-information), and on too few calls (too-few)', () => {
    // Labels drawn with P(fake) = sigmoid(z): the shipped log-odds are right for this tenant.
    const f = fitGroup(calibratedCalls(400, 5), guard);
    expect(f.status).toBe('no-gain');
    expect(f.cllr!.heldOut).toBeGreaterThan(f.cllr!.shipped - 0.02);
    // Overconfident scores whose labels say nothing: shrinking them toward 0.5 beats the shipped Cllr, but the
    // refit still says nothing on held-out calls (Cllr about 1 bit): refused, the decisions do not agree with the scores.
    const noise = fitGroup(calls({ fake: 60, genuine: 60 }, { fake: [0, 1.5], genuine: [0, 1.5] }, 11), guard);
    expect(noise.status).toBe('no-information');
    expect(noise.cllr!.heldOut).toBeLessThan(noise.cllr!.shipped - 0.02);
    expect(noise.cllr!.heldOut).toBeGreaterThan(0.98);
    const few = fitGroup(calls({ fake: 29, genuine: 200 }, { fake: [3, 1], genuine: [1, 1] }), guard);
    expect(few).toMatchObject({ status: 'too-few', counts: { fake: 29, genuine: 200 }, a: 1, b: 0, cllr: undefined });
  });

  it('holds the bounds however far the decisions pull, and says so', () => {
    // Every call of the tenant is scored +6 by the shipped calibration; the operators say most are genuine.
    const points = calls({ fake: 40, genuine: 200 }, { fake: [8, 0.5], genuine: [6, 0.5] });
    const f = fitGroup(points, guard);
    expect(f.atBound).toBe(true);
    expect(Math.abs(f.b)).toBeLessThanOrEqual(1.5 + 1e-9);
    expect(f.a).toBeGreaterThanOrEqual(0.5 - 1e-9);
    expect(f.a).toBeLessThanOrEqual(2 + 1e-9);
  });

  it('keeps the calls of one call id in one fold (no call on both sides of a held-out check)', () => {
    // Two participants per call: with a fold per participant, the held-out fold would see its own call.
    const points = calls({ fake: 40, genuine: 40 }, { fake: [2, 1], genuine: [0, 1] }).flatMap((p) => [p, { ...p, z: p.z + 0.1 }]);
    const f = fitGroup(points, { ...guard, minPerClass: 30 });
    expect(f.status).toBe('applied');
    expect(f.counts).toEqual({ fake: 80, genuine: 80 });
  });
});

describe('fitAffine', () => {
  it('stays at the shipped map when the shipped calibration already fits, and with one class only', () => {
    // Scores that are calibrated log-odds already: labels drawn with P(fake) = sigmoid(z).
    const m = fitAffine(calibratedCalls(4000, 3), { maxScale: 2, maxShift: 1.5, priorCalls: 1 });
    expect(m.a).toBeGreaterThan(0.85);
    expect(m.a).toBeLessThan(1.15);
    expect(Math.abs(m.b)).toBeLessThan(0.15);
    expect(fitAffine([{ z: 2, fake: true }], { maxScale: 2, maxShift: 1.5, priorCalls: 1 })).toEqual({ a: 1, b: 0, atBound: false });
  });
});
