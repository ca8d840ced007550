import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import { ParticipantVerdict } from '../pipeline/verdict/ParticipantVerdict.js';
import type { ChallengeServiceEvents } from '../challenge-response/ChallengeService.js';
import type { ChallengeEvent, ChallengeOutcome, OperatorDecision } from '../challenge-response/ChallengeOutcome.js';
import { ParticipantDecisions } from './ParticipantDecisions.js';

/** The challenge service's event surface (ChallengeService emits exactly these). */
class ChallengeEvents extends TypedEmitter<ChallengeServiceEvents> {
  outcome(roomId: string, o: ChallengeOutcome): void {
    this.safeEmit('outcome', roomId, o);
  }
  decision(roomId: string, d: OperatorDecision): void {
    this.safeEmit('decision', roomId, d);
  }
  phase(roomId: string, e: ChallengeEvent): void {
    this.safeEmit('challenge', roomId, e);
  }
}

const outcome = (o: Partial<ChallengeOutcome>): ChallengeOutcome => ({
  callId: 'c-1',
  challengeId: 'ch-1',
  peerId: 'alice',
  kind: 'whisper-phrase',
  modality: 'audio',
  trigger: 'suspicious',
  outcome: 'passed',
  evidence: 'verified',
  measurements: {},
  reason: '',
  detectorMaxPFake: Number.NaN,
  at: 0,
  ...o,
});
const decision = (d: Partial<OperatorDecision>): OperatorDecision => ({ callId: 'c-1', peerId: 'alice', challengeId: 'ch-1', decision: 'dismiss', operator: 'op', evidence: 'verified', at: 0, ...d });

describe('decision layer', () => {
  const setup = () => {
    let now = 1000;
    const alice = new ParticipantVerdict({ roomId: 'r', peerId: 'alice' }, { now: () => now });
    const events = new ChallengeEvents();
    const verdicts = { participant: (roomId: string, peerId: string) => (roomId === 'r' && peerId === 'alice' ? alice : undefined) };
    const decisions = new ParticipantDecisions(verdicts, events);
    return { alice, events, decisions, advance: (ms: number) => (now += ms) };
  };

  it('a passed challenge makes the participant verified; a failed or non-compliant one deepfake-likely', () => {
    const { alice, events } = setup();
    events.outcome('r', outcome({ outcome: 'passed', verifiedUntil: 600_000 }));
    expect(alice.current().state).toBe('verified');
    events.outcome('r', outcome({ outcome: 'non-compliant', evidence: 'deepfake-likely', kind: 'speak-softly' }));
    expect([alice.current().state, alice.current().reason]).toEqual(['deepfake-likely', 'challenge speak-softly non-compliant']);
  });

  it('an operator dismissing a pass withdraws verified; confirming a failure pins deepfake-likely; unclear outcomes change nothing', () => {
    const { alice, events } = setup();
    events.outcome('r', outcome({ outcome: 'passed', verifiedUntil: 600_000 }));
    events.decision('r', decision({ decision: 'dismiss', evidence: 'verified' }));
    expect([alice.current().state, alice.current().reason]).not.toContain('verified');
    expect(alice.current().state).toBe('collecting');
    events.outcome('r', outcome({ outcome: 'unclear', evidence: 'inconclusive' }));
    expect(alice.current().state).toBe('collecting');
    events.decision('r', decision({ decision: 'confirm', evidence: 'deepfake-likely' }));
    expect([alice.current().state, alice.current().reason]).toEqual(['deepfake-likely', 'operator-confirmed']);
  });

  it('holds the voice- and face-continuity checks from a challenge being issued to its outcome', () => {
    const { alice, events } = setup();
    const unit = (axis: number): Float32Array => Float32Array.from({ length: 8 }, (_, i) => (i === axis ? 1 : 0));
    for (let i = 0; i < 6; i++) alice.addSpeakerEmbedding({ vector: unit(0), channel: 'wideband' });
    for (let i = 0; i < 3; i++) alice.addFaceDescriptor(unit(1));
    events.phase('r', { phase: 'issued', callId: 'c-1', challengeId: 'ch-1', peerId: 'alice', kind: 'whisper-phrase', modality: 'audio', trigger: 'suspicious', promptText: 'Whisper', expectedDurationSec: 3, at: 0 });
    // A whispered answer does not sound like the enrolled voice: no takeover while the challenge runs.
    for (let i = 0; i < 5; i++) alice.addSpeakerEmbedding({ vector: unit(3), channel: 'wideband' });
    // Nor does a turned head.
    for (let i = 0; i < 5; i++) alice.addFaceDescriptor(unit(5));
    expect(alice.takeovers).toBe(0);
    events.outcome('r', outcome({ outcome: 'passed', verifiedUntil: 600_000 }));
    events.phase('r', { ...outcome({ outcome: 'passed', verifiedUntil: 600_000 }), phase: 'outcome' });
    expect(alice.current().state).toBe('verified');
    // After the outcome the check runs again: a different voice is a takeover.
    alice.addSpeakerEmbedding({ vector: unit(3), channel: 'wideband' });
    alice.addSpeakerEmbedding({ vector: unit(3), channel: 'wideband' });
    expect(alice.takeovers).toBe(1);
    expect(alice.current().reason).toBe('takeover:voice');
  });

  it('an outcome for a participant who left changes nothing; after close nothing is applied', () => {
    const { alice, events, decisions } = setup();
    events.outcome('r', outcome({ peerId: 'bob', outcome: 'failed', evidence: 'deepfake-likely' }));
    expect(alice.current().state).toBe('collecting');
    decisions.close();
    events.outcome('r', outcome({ outcome: 'failed', evidence: 'deepfake-likely' }));
    expect(alice.current().state).toBe('collecting');
  });
});
