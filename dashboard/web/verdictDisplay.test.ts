import { describe, expect, it } from 'vitest';
import { describeVerdict, displayStyles, evidenceSeconds, isWeakEvidence, MIN_REASSURING_CONFIDENCE, verdictStates, type DisplayKind } from './verdictDisplay.js';
import { stateColours, stateLabels } from './types.js';
import { defaultVerdictMachineOptions } from '../../pipeline/verdict/VerdictMachine.js';

const LOW = 0.3;
const HIGH = 0.8;
const MUCH = { speechSeconds: 20, faceFrames: 60 };

describe('verdict display mapping (shared by dashboard, badge SDK and meeting page)', () => {
  const expected: Record<string, { low: DisplayKind; high: DisplayKind }> = {
    collecting: { low: 'collecting', high: 'collecting' },
    'likely-genuine': { low: 'not-enough-evidence', high: 'likely-genuine' },
    suspicious: { low: 'suspicious', high: 'suspicious' },
    'deepfake-likely': { low: 'deepfake-likely', high: 'deepfake-likely' },
    verified: { low: 'verified', high: 'verified' },
  };

  for (const state of verdictStates) {
    it(`${state}: low and high confidence`, () => {
      const low = describeVerdict({ state, confidence: LOW, pFake: 0.4, evidence: MUCH });
      const high = describeVerdict({ state, confidence: HIGH, pFake: 0.4, evidence: MUCH });
      expect(low.kind).toBe(expected[state]!.low);
      expect(high.kind).toBe(expected[state]!.high);
      expect(low.weak).toBe(true);
      expect(high.weak).toBe(false);
      for (const d of [low, high]) {
        // Icon and text, never colour alone; an explanation with the numbers.
        expect(d.icon.length).toBeGreaterThan(0);
        expect(d.label.length).toBeGreaterThan(0);
        expect(d.colour).toMatch(/^#[0-9a-f]{6}$/);
        expect(d.detail.length).toBeGreaterThan(20);
        expect(d.detail).toContain('confidence');
      }
    });
  }

  it('never says "Likely genuine" on weak evidence (the P(fake) 49 %, confidence 30 % case)', () => {
    const d = describeVerdict({ state: 'likely-genuine', pFake: 0.49, confidence: 0.3, evidence: { speechSeconds: 4, faceFrames: 0 } });
    expect(d.label).toBe('Not enough evidence yet');
    expect(d.kind).toBe('not-enough-evidence');
    expect(d.colour).toBe(displayStyles.collecting.colour);
    expect(d.detail).toContain('P(fake) 49%, confidence 30%');
    expect(d.detail).toContain('4 s of speech');
    expect(d.detail).toContain(`from confidence ${Math.round(MIN_REASSURING_CONFIDENCE * 100)}%`);
  });

  it('says "Likely genuine" only from the threshold up, and only with enough evidence seconds', () => {
    expect(describeVerdict({ state: 'likely-genuine', confidence: MIN_REASSURING_CONFIDENCE - 0.001 }).label).toBe('Not enough evidence yet');
    expect(describeVerdict({ state: 'likely-genuine', confidence: MIN_REASSURING_CONFIDENCE }).label).toBe('Likely genuine');
    // Confident numbers but hardly any evidence behind them (e.g. a bad report): still weak.
    expect(describeVerdict({ state: 'likely-genuine', confidence: 0.9, evidence: { speechSeconds: 1, faceFrames: 2 } }).label).toBe('Not enough evidence yet');
    expect(describeVerdict({ state: 'likely-genuine', confidence: null }).label).toBe('Not enough evidence yet');
    expect(describeVerdict({ state: 'likely-genuine', confidence: Number.NaN }).weak).toBe(true);
  });

  it('keeps alarms visible on thin evidence, and says the evidence is thin', () => {
    const s = describeVerdict({ state: 'suspicious', confidence: 0.2, pFake: 0.62 });
    expect(s.label).toBe('Suspicious');
    expect(s.detail).toContain('thin evidence');
    const d = describeVerdict({ state: 'deepfake-likely', confidence: 0.2, pFake: 0.9, reason: 'challenge-failed' });
    expect(d.label).toBe('Deepfake likely');
    expect(d.detail).toContain('challenge-failed');
  });

  it('explains what would change each state, with the verdict machine thresholds', () => {
    expect(describeVerdict({ state: 'likely-genuine', confidence: HIGH }).detail).toContain('rises to 60%');
    expect(describeVerdict({ state: 'suspicious', confidence: HIGH }).detail).toMatch(/below 45%.*at 85%/);
    expect(describeVerdict({ state: 'deepfake-likely', confidence: HIGH }).detail).toContain('below 70%');
    expect(describeVerdict({ state: 'collecting', confidence: 0 }).detail).toContain(`about ${defaultVerdictMachineOptions.minEvidence} s of speech`);
  });

  it('shows a poor-input reason as such while collecting', () => {
    const d = describeVerdict({ state: 'collecting', confidence: 0, reason: 'audio:packet-loss,video:tiny-face' });
    expect(d.kind).toBe('poor-input');
    expect(d.label).toBe('Input too poor to judge');
    expect(d.detail).toContain('audio:packet-loss, video:tiny-face');
    expect(describeVerdict({ state: 'collecting', confidence: 0, reason: 'insufficient-evidence' }).kind).toBe('collecting');
  });

  it('gives every display kind its own icon (text and icon differ between reassurance, alarm and weak)', () => {
    const kinds = Object.keys(displayStyles) as DisplayKind[];
    const icons = new Set(kinds.filter((k) => k !== 'not-enough-evidence').map((k) => displayStyles[k].icon));
    expect(icons.size).toBe(kinds.length - 1);
    expect(displayStyles['not-enough-evidence']).toEqual(displayStyles.collecting);
  });

  it('per-state labels and colours (types.ts) come from the same table', () => {
    for (const s of verdictStates) {
      expect(stateLabels[s]).toBe(displayStyles[s].label);
      expect(stateColours[s]).toBe(displayStyles[s].colour);
    }
  });

  it('counts face frames as seconds at the default analysis rate', () => {
    expect(evidenceSeconds({ speechSeconds: 2, faceFrames: 10 })).toBe(4);
    expect(isWeakEvidence({ confidence: 0.9, evidence: { speechSeconds: 0, faceFrames: 15 } })).toBe(false);
  });

  it('a declared synthetic voice is shown as such, never as an alarm; an alarm state keeps its own display', () => {
    const d = describeVerdict({ state: 'collecting', confidence: 0, pFake: 0.5, reason: 'declared-synthetic:dv-0123456789ab' });
    expect(d.kind).toBe('declared-synthetic');
    expect(d.label).toBe('Declared synthetic voice');
    expect(d.detail).toContain('dv-0123456789ab');
    expect(describeVerdict({ state: 'suspicious', confidence: 0.8, pFake: 0.7, reason: 'declared-synthetic:dv-0123456789ab' }).kind).toBe('suspicious');
  });
});
