import { describe, expect, it } from 'vitest';
import { INSUFFICIENT_EVIDENCE, VerdictMachine, defaultVerdictMachineOptions, type VerdictState } from './VerdictMachine.js';

// The transition tests use evidence gates of 3 s / 1 s (numbers easy to read); the defaults
// (0.6 s / 0.3 s of scored input) have their own test below. Thresholds: the defaults,
// suspicious 0.60/0.45, deepfake 0.85/0.70, hold 60 s.
const GATES = { minEvidence: 3, keepEvidence: 1 };
const ENOUGH = 5;

function machineIn(state: VerdictState, now = 0): VerdictMachine {
  const m = new VerdictMachine(GATES);
  const p = { 'likely-genuine': 0.1, suspicious: 0.7, 'deepfake-likely': 0.95, collecting: 0.5, verified: 0.5 }[state];
  if (state === 'verified') m.markVerified(now + 10_000, now);
  else if (state !== 'collecting') m.update({ pFake: p, evidence: ENOUGH, now });
  expect(m.state).toBe(state);
  return m;
}

describe('VerdictMachine transitions (one test per table row)', () => {
  it('by default leaves collecting after 0.6 s of scored input (one early voice window) and falls back below 0.3 s', () => {
    expect(defaultVerdictMachineOptions).toMatchObject({ minEvidence: 0.6, keepEvidence: 0.3 });
    const m = new VerdictMachine();
    expect(m.update({ pFake: 0.2, evidence: 0.59, now: 1 })).toBeUndefined();
    expect(m.update({ pFake: 0.2, evidence: 0.6, now: 2 })).toEqual({ from: 'collecting', to: 'likely-genuine', reason: undefined, at: 2 });
    m.update({ pFake: 0.2, evidence: 0.29, now: 3 });
    expect([m.state, m.reason]).toEqual(['collecting', INSUFFICIENT_EVIDENCE]);
  });

  it('starts collecting with insufficient-evidence', () => {
    const m = new VerdictMachine(GATES);
    expect(m.state).toBe('collecting');
    expect(m.reason).toBe(INSUFFICIENT_EVIDENCE);
  });

  it('collecting -> collecting (reason) on poor quality, even with strong evidence', () => {
    const m = machineIn('collecting');
    m.update({ pFake: 0.99, evidence: 100, poorQuality: 'audio:packet-loss', now: 1 });
    expect(m.state).toBe('collecting');
    expect(m.reason).toBe('audio:packet-loss');
  });

  it('collecting -> collecting below minEvidence', () => {
    const m = machineIn('collecting');
    expect(m.update({ pFake: 0.99, evidence: 2.9, now: 1 })).toBeUndefined();
    expect(m.state).toBe('collecting');
    expect(m.reason).toBe(INSUFFICIENT_EVIDENCE);
  });

  it.each([
    [0.9, 'deepfake-likely'],
    [0.7, 'suspicious'],
    [0.2, 'likely-genuine'],
  ] as const)('collecting -> %s with enough evidence at p=%f', (p, to) => {
    const m = machineIn('collecting');
    const t = m.update({ pFake: p, evidence: 3, now: 1 });
    expect(t).toEqual({ from: 'collecting', to, reason: undefined, at: 1 });
  });

  it('likely-genuine -> collecting on poor quality and on lost evidence', () => {
    const a = machineIn('likely-genuine');
    a.update({ pFake: 0.1, evidence: ENOUGH, poorQuality: 'audio:narrowband', now: 1 });
    expect([a.state, a.reason]).toEqual(['collecting', 'audio:narrowband']);
    const b = machineIn('likely-genuine');
    b.update({ pFake: 0.1, evidence: 0.5, now: 1 });
    expect([b.state, b.reason]).toEqual(['collecting', INSUFFICIENT_EVIDENCE]);
  });

  it('likely-genuine -> deepfake-likely / suspicious / stays', () => {
    const a = machineIn('likely-genuine');
    a.update({ pFake: 0.86, evidence: ENOUGH, now: 1 });
    expect(a.state).toBe('deepfake-likely');
    const b = machineIn('likely-genuine');
    b.update({ pFake: 0.6, evidence: ENOUGH, now: 1 });
    expect(b.state).toBe('suspicious');
    const c = machineIn('likely-genuine');
    expect(c.update({ pFake: 0.59, evidence: 2, now: 1 })).toBeUndefined(); // between keep and min: stays
    expect(c.state).toBe('likely-genuine');
  });

  it('suspicious -> collecting on poor quality / lost evidence', () => {
    const a = machineIn('suspicious');
    a.update({ pFake: 0.7, evidence: ENOUGH, poorQuality: 'video:low-frame-rate', now: 1 });
    expect([a.state, a.reason]).toEqual(['collecting', 'video:low-frame-rate']);
    const b = machineIn('suspicious');
    b.update({ pFake: 0.7, evidence: 0.9, now: 1 });
    expect(b.state).toBe('collecting');
  });

  it('suspicious -> deepfake-likely, -> likely-genuine, hysteresis keeps it between exit and enter', () => {
    const a = machineIn('suspicious');
    a.update({ pFake: 0.85, evidence: ENOUGH, now: 1 });
    expect(a.state).toBe('deepfake-likely');
    const b = machineIn('suspicious');
    b.update({ pFake: 0.5, evidence: ENOUGH, now: 1 }); // below enter 0.60 but above exit 0.45
    expect(b.state).toBe('suspicious');
    b.update({ pFake: 0.44, evidence: ENOUGH, now: 2 });
    expect(b.state).toBe('likely-genuine');
    // ... and from likely-genuine, 0.5 does not re-enter suspicious.
    b.update({ pFake: 0.5, evidence: ENOUGH, now: 3 });
    expect(b.state).toBe('likely-genuine');
  });

  it('deepfake-likely hysteresis: stays above deepfakeExit, -> suspicious below it, -> likely-genuine below suspiciousExit', () => {
    const a = machineIn('deepfake-likely');
    a.update({ pFake: 0.75, evidence: ENOUGH, now: 1 });
    expect(a.state).toBe('deepfake-likely');
    a.update({ pFake: 0.69, evidence: ENOUGH, now: 2 });
    expect(a.state).toBe('suspicious');
    const b = machineIn('deepfake-likely');
    b.update({ pFake: 0.3, evidence: ENOUGH, now: 1 });
    expect(b.state).toBe('likely-genuine');
  });

  it('deepfake-likely is sticky under poor quality or lost evidence', () => {
    const a = machineIn('deepfake-likely');
    a.update({ pFake: 0.1, evidence: ENOUGH, poorQuality: 'audio:packet-loss', now: 1 });
    expect(a.state).toBe('deepfake-likely');
    a.update({ pFake: 0.1, evidence: 0.1, now: 2 });
    expect(a.state).toBe('deepfake-likely');
  });

  it('markDeepfakeLikely (failed challenge) from any state, held against good scores until the hold ends', () => {
    for (const s of ['collecting', 'likely-genuine', 'suspicious', 'verified'] as const) {
      const m = machineIn(s, 0);
      const t = m.markDeepfakeLikely('challenge-failed', 100);
      expect(t).toMatchObject({ from: s, to: 'deepfake-likely', reason: 'challenge-failed' });
      m.update({ pFake: 0.01, evidence: 50, now: 100 + 59_999 });
      expect([m.state, m.reason]).toEqual(['deepfake-likely', 'challenge-failed']);
      m.update({ pFake: 0.01, evidence: 50, now: 100 + 60_000 });
      expect(m.state).toBe('likely-genuine');
    }
  });

  it('markTakeover (the voice changed) from any state but deepfake-likely: suspicious, held against good scores and lost evidence; ends verified', () => {
    for (const s of ['collecting', 'likely-genuine', 'suspicious', 'verified'] as const) {
      const m = machineIn(s, 0);
      const t = m.markTakeover('takeover:voice', 100);
      expect(t).toMatchObject({ from: s, to: 'suspicious', reason: 'takeover:voice' });
      expect(m.verifiedUntilMs).toBe(0);
      // Good scores, no evidence, poor quality: the hold keeps it suspicious with its reason.
      m.update({ pFake: 0.01, evidence: 50, now: 100 + 29_999 });
      expect([m.state, m.reason]).toEqual(['suspicious', 'takeover:voice']);
      m.update({ pFake: 0.5, evidence: 0, poorQuality: 'packet-loss', now: 100 + 29_999 });
      expect([m.state, m.reason]).toEqual(['suspicious', 'takeover:voice']);
      // After the hold the new voice is judged on its own evidence.
      m.update({ pFake: 0.01, evidence: 50, now: 100 + 30_000 });
      expect(m.state).toBe('likely-genuine');
    }
  });

  it('a takeover hold does not stop an alarm: strong scores raise it; deepfake-likely stays on a takeover; a passed challenge ends the hold', () => {
    const m = machineIn('likely-genuine', 0);
    m.markTakeover('takeover:voice', 0);
    m.update({ pFake: 0.95, evidence: ENOUGH, now: 1000 });
    expect([m.state, m.reason]).toEqual(['deepfake-likely', 'takeover:voice']);
    const d = machineIn('deepfake-likely', 0);
    expect(d.markTakeover('takeover:voice', 10)).toBeUndefined();
    expect(d.state).toBe('deepfake-likely');
    const v = machineIn('suspicious', 0);
    v.markTakeover('takeover:voice', 0);
    v.markVerified(20_000, 1000);
    expect(v.state).toBe('verified');
    v.update({ pFake: 0.01, evidence: ENOUGH, now: 20_000 });
    expect(v.state).toBe('likely-genuine');
  });

  it('markVerified from any state; scores do not move verified; it expires into a fresh judgement', () => {
    for (const s of ['collecting', 'likely-genuine', 'suspicious', 'deepfake-likely'] as const) {
      const m = machineIn(s, 0);
      const t = m.markVerified(10_000, 5);
      expect(t).toMatchObject({ from: s, to: 'verified', reason: 'challenge-passed' });
      expect(m.verifiedUntilMs).toBe(10_000);
      m.update({ pFake: 0.99, evidence: 50, now: 9_999 });
      expect(m.state).toBe('verified');
      m.update({ pFake: 0.99, evidence: 50, now: 10_000 });
      expect(m.state).toBe('deepfake-likely');
      expect(m.verifiedUntilMs).toBe(0);
    }
  });

  it('verified expiry with too little evidence or poor quality returns to collecting', () => {
    const a = machineIn('verified', 0);
    a.update({ pFake: 0.2, evidence: 1, now: 10_000 });
    expect([a.state, a.reason]).toEqual(['collecting', INSUFFICIENT_EVIDENCE]);
    const b = machineIn('verified', 0);
    b.update({ pFake: 0.2, evidence: 10, poorQuality: 'video:tiny-face', now: 10_001 });
    expect([b.state, b.reason]).toEqual(['collecting', 'video:tiny-face']);
  });

  it('markVerified with a past deadline changes nothing; bad thresholds are rejected', () => {
    const m = machineIn('suspicious');
    expect(m.markVerified(5, 10)).toBeUndefined();
    expect(m.state).toBe('suspicious');
    expect(() => new VerdictMachine({ suspiciousExit: 0.7, suspiciousEnter: 0.6 })).toThrow(RangeError);
    expect(() => new VerdictMachine({ keepEvidence: 5, minEvidence: 3 })).toThrow(RangeError);
  });
});
