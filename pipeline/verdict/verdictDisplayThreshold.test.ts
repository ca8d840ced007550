/**
 * The display threshold (`dashboard/web/verdictDisplay.ts`) against the verdict code it
 * is derived from: a participant the machine has just judged `likely-genuine` on the
 * minimum evidence is not shown as "Likely genuine"; with evidence worth the confidence
 * scale they are.
 */
import { describe, expect, it } from 'vitest';
import { audioWindow, streamRef } from '../../detectors/testing/windows.js';
import type { WindowScore } from '../messages.js';
import { defaultParticipantVerdictOptions, ParticipantVerdict } from './ParticipantVerdict.js';
import { defaultVerdictMachineOptions } from './VerdictMachine.js';
import { describeVerdict, MIN_REASSURING_CONFIDENCE } from '../../dashboard/web/verdictDisplay.js';

const A = streamRef('carol', 'audio');
const score = (pFake: number, evidence: number, seq: number): WindowScore => ({
  type: 'score',
  stream: A,
  seq,
  detector: 'voice-x',
  modelVersion: '1.0.0',
  pFake,
  evidence,
  wallEnd: 0,
  queueMs: 0,
  inferenceMs: 1,
});

describe('MIN_REASSURING_CONFIDENCE follows the verdict code', () => {
  it('lies between the confidence at minEvidence and the confidence at confidenceEvidence', () => {
    const c = (evidence: number): number => 1 - Math.exp(-evidence / defaultParticipantVerdictOptions.confidenceEvidence);
    expect(c(defaultVerdictMachineOptions.minEvidence)).toBeLessThan(MIN_REASSURING_CONFIDENCE);
    expect(c(defaultParticipantVerdictOptions.confidenceEvidence)).toBeGreaterThan(MIN_REASSURING_CONFIDENCE);
  });

  it('a real ParticipantVerdict: likely-genuine on little evidence reads "Not enough evidence yet", then "Likely genuine"', () => {
    const clock = { t: 1_000 };
    const pv = new ParticipantVerdict({ roomId: 'r', peerId: 'carol' }, { now: () => clock.t });
    let seq = 0;
    const speak = (seconds: number): void => {
      pv.observe(audioWindow({ stream: A, seconds }));
      pv.addScore(score(0.3, seconds, seq++));
    };
    speak(defaultVerdictMachineOptions.minEvidence + 0.5);
    const early = pv.current();
    expect(early.state).toBe('likely-genuine');
    expect(describeVerdict(early).label).toBe('Not enough evidence yet');
    for (let i = 0; i < 5; i++) {
      clock.t += 1_000;
      speak(2);
    }
    const later = pv.current();
    expect(later.state).toBe('likely-genuine');
    expect(later.confidence).toBeGreaterThanOrEqual(MIN_REASSURING_CONFIDENCE);
    expect(describeVerdict(later).label).toBe('Likely genuine');
  });
});
