/**
 * The call registry's call boundaries and the history built on it (in memory, no NATS):
 * a call ends with its last participant, late events stay with it, phone calls are marked,
 * the list filters and the detail from events.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeEvent, type DfdEvent } from '../events/schema.js';
import { CallRegistry } from './CallRegistry.js';
import { CallHistory } from './CallHistory.js';
import { parseCallQuery } from './callQuery.js';
import { detailFromEvents } from './callDetail.js';
import { parseHistoryEntry } from './HistoryEntry.js';

type Models = DfdEvent['models'];
const verdict = (roomId: string, callId: string, peerId: string, state: 'suspicious' | 'likely-genuine' | 'deepfake-likely', pFake: number, models: Models = []): DfdEvent =>
  makeEvent('verdict', { roomId, peerId, displayName: peerId.toUpperCase(), callId, models }, { state, pFake, confidence: 0.7, evidence: { speechSeconds: 8, faceFrames: 0 }, quality: {}, dropped: {} });
/** A verdict's model list as the pipeline writes it: every model that ran, drops only when there were any. */
const ran: Models = [
  { id: 'voice-antispoof', version: '0.3.0', task: 'voice-antispoof', windows: 40 },
  { id: 'speaker-embed', version: '1.1.0', task: 'speaker-embed', windows: 37, dropped: 3 },
];

describe('CallRegistry call boundaries', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ends a call when its last participant leaves, keeps late events with it, and starts a new call on the next join', () => {
    const reg = new CallRegistry({ endGraceMs: 0 });
    const ended: string[] = [];
    const updated: string[] = [];
    reg.on('callended', (c) => ended.push(c.callId));
    reg.on('callupdated', (c) => updated.push(c.callId));
    reg.peerJoined('room1', 'alice', 'Alice');
    reg.peerJoined('room1', 'bob', 'Bob');
    const first = reg.openCall('room1')!;
    reg.peerLeft('room1', 'alice');
    expect(reg.openCall('room1')).toBe(first);
    reg.peerLeft('room1', 'bob');
    expect(reg.openCall('room1')).toBeUndefined();
    expect(ended).toEqual([first.callId]);
    expect(first.endedAt).toBeDefined();
    // A verdict computed after Bob left belongs to the call he was in, not to a new one.
    expect(reg.callForPeer('room1', 'bob')).toBe(first);
    reg.apply(verdict('room1', first.callId, 'bob', 'suspicious', 0.65));
    expect(first.participants.get('bob')?.verdict?.state).toBe('suspicious');
    expect(updated).toEqual([first.callId]);
    expect(reg.openCall('room1')).toBeUndefined();
    reg.peerJoined('room1', 'alice', 'Alice');
    const second = reg.openCall('room1')!;
    expect(second.callId).not.toBe(first.callId);
    expect(reg.callForPeer('room1', 'alice')).toBe(second);
    reg.markPhone('room1', 'alice');
    expect(second.kind).toBe('phone');
    expect(first.kind).toBe('room');
  });

  it('an event long after a call ended attaches to that call and never reopens the room', () => {
    vi.useFakeTimers();
    const reg = new CallRegistry({ endGraceMs: 0, lateEventsMs: 10_000 });
    reg.peerJoined('room3', 'dave', 'Dave');
    const call = reg.openCall('room3')!;
    reg.peerLeft('room3', 'dave');
    expect(reg.openCall('room3')).toBeUndefined();
    vi.advanceTimersByTime(60_000);
    expect(reg.callForPeer('room3', 'dave')).toBe(call);
    expect(reg.openCall('room3')).toBeUndefined();
    expect(reg.openCalls()).toHaveLength(0);
    vi.useRealTimers();
  });

  it('waits endGraceMs before ending an emptied call: a rejoin (network drop) continues it, a late event does not', () => {
    vi.useFakeTimers();
    const reg = new CallRegistry({ endGraceMs: 5_000 });
    reg.peerJoined('room2', 'carol', 'Carol');
    const call = reg.openCall('room2')!;
    reg.peerLeft('room2', 'carol');
    vi.advanceTimersByTime(4_000);
    reg.peerJoined('room2', 'carol', 'Carol');
    vi.advanceTimersByTime(10_000);
    expect(reg.openCall('room2')).toBe(call);
    expect(call.participants.get('carol')?.leftAt).toBeUndefined();
    reg.peerLeft('room2', 'carol');
    reg.apply(verdict('room2', call.callId, 'carol', 'likely-genuine', 0.2));
    expect(call.participants.get('carol')?.leftAt).toBeDefined();
    vi.advanceTimersByTime(5_000);
    expect(reg.openCall('room2')).toBeUndefined();
    expect(call.endedAt).toBeDefined();
  });

  it('endAll (shutdown) ends every open call at once, one in its end grace too, each exactly once', () => {
    vi.useFakeTimers();
    const reg = new CallRegistry({ endGraceMs: 5_000 });
    const ended: string[] = [];
    reg.on('callended', (c) => ended.push(c.callId));
    reg.peerJoined('live', 'dan', 'Dan');
    reg.peerJoined('emptied', 'eve', 'Eve');
    reg.peerLeft('emptied', 'eve');
    const live = reg.openCall('live')!;
    const emptied = reg.openCall('emptied')!;
    expect(reg.endAll()).toBe(2);
    expect(reg.openCalls()).toEqual([]);
    expect(ended.sort()).toEqual([live.callId, emptied.callId].sort());
    expect(live.participants.get('dan')?.leftAt).toBe(live.endedAt);
    // The end grace timer of the emptied call does not end it a second time.
    vi.advanceTimersByTime(10_000);
    expect(ended).toHaveLength(2);
    expect(reg.endAll()).toBe(0);
  });
});

describe('CallHistory', () => {
  it('lists calls with participants, newest first, filtered, and gives details from events', async () => {
    const reg = new CallRegistry({ endGraceMs: 0 });
    const history = new CallHistory({ registry: reg });
    reg.callFor('empty-room'); // a room opened that nobody joined: not a call in the history
    reg.peerJoined('r1', 'alice', 'Alice');
    const c1 = reg.openCall('r1')!;
    reg.apply(verdict('r1', c1.callId, 'alice', 'suspicious', 0.7, [{ id: 'voice-antispoof', version: '0.3.0', windows: 10 }]));
    reg.apply(verdict('r1', c1.callId, 'alice', 'deepfake-likely', 0.9, ran));
    reg.apply(makeEvent('challenge', { roomId: 'r1', peerId: 'alice', displayName: 'Alice', callId: c1.callId, models: [] }, { challengeId: 'ch1', challengeType: 'hum-melody', modality: 'audio', phase: 'issued', trigger: 'suspicious' }));
    reg.apply(makeEvent('challenge', { roomId: 'r1', peerId: 'alice', displayName: 'Alice', callId: c1.callId, models: [] }, { challengeId: 'ch1', challengeType: 'hum-melody', modality: 'audio', phase: 'outcome', outcome: 'failed' }));
    reg.apply(makeEvent('decision', { roomId: 'r1', peerId: 'alice', displayName: 'Alice', callId: c1.callId, models: [] }, { decision: 'confirm', tagState: 'deepfake-likely', operator: 'op' }));
    reg.peerLeft('r1', 'alice');
    reg.peerJoined('r2', 'bob', 'Bob');
    const c2 = reg.openCall('r2')!;
    reg.apply(verdict('r2', c2.callId, 'bob', 'likely-genuine', 0.1));
    // Carol's verdict lost detector windows too; Dan's names no tasks (a verdict from before they were named).
    reg.peerJoined('r3', 'carol', 'Carol');
    const c3 = reg.openCall('r3')!;
    reg.apply(verdict('r3', c3.callId, 'carol', 'likely-genuine', 0.2, [{ ...ran[0]!, dropped: 2 }, { ...ran[1]!, dropped: 1 }]));
    reg.peerLeft('r3', 'carol');
    reg.peerJoined('r4', 'dan', 'Dan');
    const c4 = reg.openCall('r4')!;
    reg.apply(verdict('r4', c4.callId, 'dan', 'likely-genuine', 0.2, [{ id: 'speaker-embed', version: '1.0.0', windows: 9, dropped: 2 }]));
    reg.peerLeft('r4', 'dan');

    const all = history.list(parseCallQuery(new URLSearchParams()));
    expect(all.total).toBe(4);
    expect(new Set(all.calls.map((c) => c.callId))).toEqual(new Set([c1.callId, c2.callId, c3.callId, c4.callId]));
    const first = all.calls.find((c) => c.callId === c1.callId)!;
    const ids = (q: string): string[] => history.list(parseCallQuery(new URLSearchParams(q))).calls.map((c) => c.callId).sort();
    // the windows Alice's last verdict dropped under load (3), all the speaker model's; Bob's verdict dropped none: no field
    expect(first.participants[0]).toMatchObject({ dropped: 3, droppedSpeaker: 3 });
    expect(all.calls.find((c) => c.callId === c2.callId)!.participants[0]).not.toHaveProperty('dropped');
    expect(all.calls.find((c) => c.callId === c3.callId)!.participants[0]).toMatchObject({ dropped: 3, droppedSpeaker: 1 });
    // without tasks the split is unknown: every drop reads as the verdict's own
    expect(all.calls.find((c) => c.callId === c4.callId)!.participants[0]).toMatchObject({ dropped: 2 });
    expect(all.calls.find((c) => c.callId === c4.callId)!.participants[0]).not.toHaveProperty('droppedSpeaker');
    expect(ids('analysis=thinned')).toEqual([c1.callId, c3.callId, c4.callId].sort());
    expect(ids('analysis=evidence-thinned')).toEqual([c3.callId, c4.callId].sort());
    expect(ids('analysis=complete')).toEqual([c2.callId]);
    expect(first).toMatchObject({
      roomId: 'r1',
      kind: 'room',
      live: false,
      worstState: 'deepfake-likely',
      participants: [{ peerId: 'alice', displayName: 'Alice', finalState: 'deepfake-likely', pFake: 0.9 }],
      challenges: { total: 1, passed: 0, failed: 1, other: 0 },
      decisions: [{ decision: 'confirm', tagState: 'deepfake-likely', operator: 'op', peerId: 'alice' }],
    });
    expect(first.durationSec).toBeGreaterThanOrEqual(0);
    // What is stored in NATS must read back through the schema.
    expect(parseHistoryEntry(JSON.parse(JSON.stringify(first)))).toEqual(first);
    expect(history.list(parseCallQuery(new URLSearchParams('state=deepfake-likely'))).calls.map((c) => c.callId)).toEqual([c1.callId]);
    expect(history.list(parseCallQuery(new URLSearchParams('status=live'))).calls.map((c) => c.callId)).toEqual([c2.callId]);
    expect(history.list(parseCallQuery(new URLSearchParams('room=r2&limit=1'))).calls.map((c) => c.callId)).toEqual([c2.callId]);

    // Without events (no audit trail), the detail comes from memory.
    const mem = await history.detail(c1.callId);
    expect(mem.source).toBe('memory');
    expect(mem.participants[0]?.challenges).toEqual([expect.objectContaining({ challengeId: 'ch1', outcome: 'failed' })]);
    // the models the last verdict named, counts it left out as 0
    expect(mem.participants[0]?.models).toEqual([
      { id: 'voice-antispoof', version: '0.3.0', task: 'voice-antispoof', windows: 40, dropped: 0 },
      { id: 'speaker-embed', version: '1.1.0', task: 'speaker-embed', windows: 37, dropped: 3 },
    ]);
    expect((await history.detail(c2.callId)).participants[0]?.models).toEqual([]);
    await expect(history.detail('c-nope')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await history.close();
  });

  it('builds a call detail from its events: timeline, challenges with outcomes, decisions', () => {
    const base = { roomId: 'r1', peerId: 'bob', displayName: 'Bob', callId: 'c-x', models: [] };
    const events: DfdEvent[] = [
      makeEvent('score', base, { detector: 'voice-antispoof', pFake: 0.7, evidence: 2, windowSeq: 0, queueMs: 1, inferenceMs: 1, weight: 0.25 }),
      verdict('r1', 'c-x', 'bob', 'suspicious', 0.62, ran),
      makeEvent('challenge', base, { challengeId: 'ch9', challengeType: 'head-turn', modality: 'video', phase: 'issued', side: 'left', promptText: 'Turn left', trigger: 'operator' }),
      makeEvent('challenge', base, { challengeId: 'ch9', challengeType: 'head-turn', modality: 'video', phase: 'outcome', outcome: 'passed', measurements: { maxTurnDeg: 38 } }),
      makeEvent('challenge', base, { challengeId: 'ch10', challengeType: 'whisper-phrase', modality: 'audio', phase: 'issued', trigger: 'weak-evidence', basis: { pFake: 0.57, threshold: 0.56, family: 'telephone' } }),
      makeEvent('decision', base, { decision: 'dismiss', tagState: 'suspicious', operator: 'op', note: 'known caller' }),
    ];
    const entry = { callId: 'c-x', roomId: 'r1', kind: 'room' as const, live: false, startedAt: events[0]!.ts, endedAt: events[5]!.ts, durationSec: 1, participants: [], worstState: 'collecting' as const, challenges: { total: 1, passed: 1, failed: 0, other: 0 }, decisions: [] };
    const d = detailFromEvents(entry, events);
    expect(d.source).toBe('audit-trail');
    expect(d.events).toBe(6);
    const bob = d.participants[0]!;
    expect(bob.finalState).toBe('suspicious');
    expect(bob.timeline.map((p) => p.kind)).toEqual(['score', 'verdict']);
    expect(bob.models).toEqual([
      { id: 'voice-antispoof', version: '0.3.0', task: 'voice-antispoof', windows: 40, dropped: 0 },
      { id: 'speaker-embed', version: '1.1.0', task: 'speaker-embed', windows: 37, dropped: 3 },
    ]);
    expect(bob.challenges).toEqual([
      expect.objectContaining({ challengeId: 'ch9', side: 'left', trigger: 'operator', basis: null, outcome: 'passed', measurements: { maxTurnDeg: 38 }, phases: [expect.objectContaining({ phase: 'issued' }), expect.objectContaining({ phase: 'outcome' })] }),
      // a weak-evidence challenge keeps what it acted on
      expect.objectContaining({ challengeId: 'ch10', trigger: 'weak-evidence', basis: { pFake: 0.57, threshold: 0.56, family: 'telephone' }, outcome: null }),
    ]);
    expect(bob.decisions).toEqual([expect.objectContaining({ decision: 'dismiss', note: 'known caller' })]);
  });
});
