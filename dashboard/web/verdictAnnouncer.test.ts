import { describe, expect, it } from 'vitest';
import { VerdictAnnouncer } from './verdictAnnouncer.js';
import { describeVerdict } from './verdictDisplay.js';

const evidence = { speechSeconds: 12, faceFrames: 60 };

describe('VerdictAnnouncer', () => {
  it('announces changes of wording, politely, and "Deepfake likely" assertively', () => {
    const a = new VerdictAnnouncer();
    expect(a.change('p1', 'Bob', describeVerdict({ state: 'collecting', confidence: null }))).toBeNull();
    // A weak "likely genuine" reads the same as collecting: nothing new to say.
    expect(a.change('p1', 'Bob', describeVerdict({ state: 'likely-genuine', confidence: 0.3, evidence }))).toBeNull();
    expect(a.change('p1', 'Bob', describeVerdict({ state: 'suspicious', confidence: 0.6, evidence }))).toEqual({
      text: 'Bob: Suspicious (was Not enough evidence yet).',
      politeness: 'polite',
    });
    expect(a.change('p1', 'Bob', describeVerdict({ state: 'suspicious', confidence: 0.7, evidence }))).toBeNull();
    expect(a.change('p1', 'Bob', describeVerdict({ state: 'deepfake-likely', confidence: 0.9, evidence }))).toEqual({
      text: 'Bob: Deepfake likely (was Suspicious).',
      politeness: 'assertive',
    });
    expect(a.change('p1', 'Bob', describeVerdict({ state: 'verified', confidence: 0.9, evidence }))?.politeness).toBe('polite');
  });

  it('a participant seen for the first time is announced only when already an alarm', () => {
    const a = new VerdictAnnouncer();
    expect(a.change('p1', 'Ann', describeVerdict({ state: 'likely-genuine', confidence: 0.9, evidence }))).toBeNull();
    expect(a.change('p2', 'Cy', describeVerdict({ state: 'deepfake-likely', confidence: 0.9, evidence }))).toEqual({ text: 'Cy: Deepfake likely.', politeness: 'assertive' });
    a.forget('p2');
    expect(a.change('p2', 'Cy', describeVerdict({ state: 'deepfake-likely', confidence: 0.9, evidence }))).not.toBeNull();
    a.retain(new Set(['p1']));
    expect(a.change('p2', 'Cy', describeVerdict({ state: 'deepfake-likely', confidence: 0.9, evidence }))).not.toBeNull();
  });
});
