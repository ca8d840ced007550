/** Decisions into labelled call-level scores: the label table, the tenant filter, the latest decision winning, the evidence floor. */
import { describe, expect, it } from 'vitest';
import { makeEvent, type DecisionEvent } from '../../events/schema.js';
import { LabelledCallScores, labelOf } from './labelledCallScores.js';

function decision(o: { tenant?: string; callId: string; peerId: string; decision: 'confirm' | 'dismiss'; tagState: string; ts: string; z?: number; evidence?: number }): DecisionEvent {
  return makeEvent(
    'decision',
    { roomId: 'r1', peerId: o.peerId, displayName: 'Caller', callId: o.callId, ...(o.tenant ? { tenant: o.tenant } : {}), models: [] },
    {
      decision: o.decision,
      tagState: o.tagState,
      operator: 'op',
      ...(o.z !== undefined ? { callScores: [{ detector: 'voice-antispoof', channel: 'telephone' as const, logOdds: o.z, evidence: o.evidence ?? 10, windows: 5 }] } : {}),
    },
    new Date(o.ts),
  );
}

describe('labelOf', () => {
  it('reads confirm and dismiss against the tag the operator acted on', () => {
    expect(labelOf('confirm', 'suspicious')).toBe('fake');
    expect(labelOf('confirm', 'deepfake-likely')).toBe('fake');
    expect(labelOf('dismiss', 'suspicious')).toBe('genuine');
    expect(labelOf('confirm', 'likely-genuine')).toBe('genuine');
    expect(labelOf('confirm', 'verified')).toBe('genuine');
    expect(labelOf('dismiss', 'verified')).toBe('fake');
    expect(labelOf('confirm', 'collecting')).toBeUndefined();
  });
});

describe('LabelledCallScores', () => {
  it("takes the tenant's decisions only, the latest per participant, and leaves out calls without enough evidence", () => {
    const l = new LabelledCallScores('acme', 2);
    l.add(decision({ tenant: 'acme', callId: 'c1', peerId: 'caller', decision: 'confirm', tagState: 'suspicious', ts: '2026-12-01T10:00:00Z', z: 2 }));
    // The operator changed their mind on c1: the later dismissal wins.
    l.add(decision({ tenant: 'acme', callId: 'c1', peerId: 'caller', decision: 'dismiss', tagState: 'suspicious', ts: '2026-12-01T10:05:00Z', z: 2.5 }));
    l.add(decision({ tenant: 'acme', callId: 'c2', peerId: 'caller', decision: 'dismiss', tagState: 'likely-genuine', ts: '2026-12-01T11:00:00Z', z: 1 }));
    l.add(decision({ tenant: 'acme', callId: 'c3', peerId: 'caller', decision: 'confirm', tagState: 'collecting', ts: '2026-12-01T11:00:00Z', z: 1 }));
    l.add(decision({ tenant: 'acme', callId: 'c4', peerId: 'caller', decision: 'confirm', tagState: 'deepfake-likely', ts: '2026-12-01T11:00:00Z', z: 3, evidence: 1 }));
    l.add(decision({ tenant: 'acme', callId: 'c5', peerId: 'caller', decision: 'confirm', tagState: 'deepfake-likely', ts: '2026-12-01T11:00:00Z' }));
    l.add(decision({ tenant: 'other', callId: 'c6', peerId: 'caller', decision: 'confirm', tagState: 'suspicious', ts: '2026-12-01T11:00:00Z', z: 4 }));
    l.add(decision({ callId: 'c7', peerId: 'caller', decision: 'confirm', tagState: 'suspicious', ts: '2026-12-01T11:00:00Z', z: 4 }));
    const { groups, counts } = l.result();
    expect(counts).toEqual({ decisions: 6, labelled: { fake: 3, genuine: 1 }, unlabelled: 1, withoutScores: 2, superseded: 1 });
    expect(groups).toEqual([
      {
        detector: 'voice-antispoof',
        channel: 'telephone',
        points: [
          { callId: 'c1', z: 2.5, fake: false },
          { callId: 'c2', z: 1, fake: true },
        ],
      },
    ]);
  });
});
