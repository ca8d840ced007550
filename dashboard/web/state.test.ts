import { describe, expect, it } from 'vitest';
import { initialState, reduce, addPoints, defaultDashboardLimits, type DashboardAction, type DashboardState } from './state.js';
import { alignTimeline } from './timeline.js';
import { triggerText } from './challengeTrigger.js';
import { parseCallSummary, parseWireEvent, type CallSummary, type WireEvent } from './types.js';

let n = 0;
const ts = (sec: number): string => new Date(Date.UTC(2026, 0, 1, 12, 0, sec)).toISOString();

function ev(type: string, peerId: string, payload: Record<string, unknown>, sec: number, roomId = 'r1'): WireEvent {
  const e = parseWireEvent({ schemaVersion: 1, id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, type, roomId, peerId, callId: 'c-1', displayName: peerId.toUpperCase(), ts: ts(sec), models: [], payload });
  if (!e) throw new Error(`test event did not parse: ${type}`);
  return e;
}
const verdict = (peer: string, state: string, pFake: number, sec: number, confidence = 0.5): DashboardAction => ({ type: 'event', event: ev('verdict', peer, { state, pFake, confidence, evidence: { speechSeconds: 1, faceFrames: 0 }, quality: {}, dropped: {} }, sec) });
const score = (peer: string, detector: string, pFake: number, sec: number): DashboardAction => ({ type: 'event', event: ev('score', peer, { detector, pFake, evidence: 1, windowSeq: sec, queueMs: 1, inferenceMs: 2 }, sec) });
const challenge = (peer: string, phase: string, sec: number, outcome?: string): DashboardAction => ({
  type: 'event',
  event: ev('challenge', peer, { challengeId: 'ch1', challengeType: 'read-digits', modality: 'audio', phase, ...(outcome ? { outcome } : {}) }, sec),
});
const summary = (roomId: string, callId: string, ps: [string, string, boolean?][]): CallSummary => ({
  roomId,
  callId,
  startedAt: ts(0),
  endedAt: undefined,
  participants: ps.map(([peerId, state, present]) => ({ peerId, displayName: peerId.toUpperCase(), present: present ?? true, state, pFake: null, confidence: null })),
});
const run = (actions: DashboardAction[], from: DashboardState = initialState): DashboardState => actions.reduce((s, a) => reduce(s, a), from);
const participant = (s: DashboardState, peer: string, room = 'r1') => s.calls.find((c) => c.roomId === room)?.participants.find((p) => p.peerId === peer);

describe('dashboard state reducer', () => {
  it('lists rooms and participants from /v1/rooms, sorted by room; who left and calls that ended go to History', () => {
    let s = reduce(initialState, { type: 'rooms', at: ts(1), calls: [summary('zeta', 'c-z', [['a', 'collecting']]), summary('alpha', 'c-a', [['b', 'likely-genuine'], ['c', 'collecting', false]])] });
    expect(s.calls.map((c) => c.roomId)).toEqual(['alpha', 'zeta']);
    expect(participant(s, 'b', 'alpha')?.state).toBe('likely-genuine');
    // c had left before the dashboard loaded: History, not a live card.
    expect(participant(s, 'c', 'alpha')).toBeUndefined();
    expect(s.departed.map((d) => `${d.roomId}/${d.peerId}:${d.ended}`)).toEqual(['alpha/c:left']);
    s = reduce(s, { type: 'rooms', at: ts(2), calls: [summary('alpha', 'c-a', [['b', 'likely-genuine'], ['c', 'collecting', false]])] });
    expect(s.calls.map((c) => c.roomId)).toEqual(['alpha']);
    expect(s.departed.map((d) => `${d.roomId}/${d.peerId}:${d.ended}@${d.at}`)).toEqual([`zeta/a:call-ended@${ts(2)}`, `alpha/c:left@${ts(1)}`]);
  });

  it('a verdict changes the state, adds pFake and confidence points, and raises an alert only on a change to an alert state', () => {
    let s = run([{ type: 'rooms', calls: [summary('r1', 'c-1', [['a', 'collecting']])] }, verdict('a', 'likely-genuine', 0.1, 1)]);
    expect(participant(s, 'a')).toMatchObject({ state: 'likely-genuine', pFake: 0.1, confidence: 0.5, liveVerdict: true });
    expect(participant(s, 'a')?.timeline.map((p) => p.series)).toEqual(['pFake', 'confidence']);
    expect(s.alerts).toHaveLength(0);
    s = run([verdict('a', 'deepfake-likely', 0.9, 2), verdict('a', 'deepfake-likely', 0.92, 3)], s);
    expect(s.alerts).toHaveLength(1);
    expect(s.alerts[0]).toMatchObject({ kind: 'verdict', value: 'deepfake-likely', previous: 'likely-genuine', peerId: 'a', displayName: 'A' });
    s = run([verdict('a', 'suspicious', 0.6, 4)], s);
    expect(s.alerts.map((a) => a.value)).toEqual(['suspicious', 'deepfake-likely']);
    expect(participant(s, 'a')?.timeline).toHaveLength(8);
    expect(s.applied).toBe(4);
  });

  it('keeps the models the latest verdict names, with their windows and drops', () => {
    const withModels = (sec: number, models: unknown): DashboardAction => {
      const e = parseWireEvent({ schemaVersion: 1, id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, type: 'verdict', roomId: 'r1', peerId: 'a', callId: 'c-1', displayName: 'A', ts: ts(sec), ...(models === undefined ? {} : { models }), payload: { state: 'likely-genuine', pFake: 0.2, confidence: 0.6 } });
      if (!e) throw new Error('test event did not parse');
      return { type: 'event', event: e };
    };
    let s = run([{ type: 'rooms', calls: [summary('r1', 'c-1', [['a', 'collecting']])] }]);
    expect(participant(s, 'a')?.models).toBeUndefined();
    s = run([withModels(1, [{ id: 'voice-antispoof', version: '0.3.0', windows: 9 }, { id: 'speaker-embed', version: '1.1.0', windows: 7, dropped: 2 }])], s);
    expect(participant(s, 'a')?.models).toEqual([
      { id: 'voice-antispoof', version: '0.3.0', windows: 9, dropped: 0 },
      { id: 'speaker-embed', version: '1.1.0', windows: 7, dropped: 2 },
    ]);
    // A verdict without the list (an older service) keeps the last one known.
    s = run([withModels(2, undefined)], s);
    expect(participant(s, 'a')?.models).toHaveLength(2);
    // Who leaves takes the list to History.
    s = reduce(s, { type: 'rooms', at: ts(3), calls: [summary('r1', 'c-1', [['a', 'collecting', false]])] });
    expect(participant(s, 'a')).toBeUndefined();
    expect(s.departed[0]?.models).toEqual([
      { id: 'voice-antispoof', version: '0.3.0', windows: 9, dropped: 0 },
      { id: 'speaker-embed', version: '1.1.0', windows: 7, dropped: 2 },
    ]);
  });

  it("labels a detector the verdict does not fully trust with its weight (from the score event)", () => {
    const weighted = (detector: string, pFake: number, sec: number, weight: unknown): DashboardAction => ({ type: 'event', event: ev('score', 'w', { detector, pFake, evidence: 1, windowSeq: sec, queueMs: 1, inferenceMs: 2, weight }, sec) });
    const s = run([weighted('voice-antispoof', 0.7, 1, 0), weighted('face-forgery', 0.4, 2, 0.16), weighted('face-x', 0.2, 3, 1), weighted('face-y', 0.2, 4, 'junk')]);
    expect(participant(s, 'w')?.timeline.map((p) => p.series)).toEqual(['detector:voice-antispoof (weight 0)', 'detector:face-forgery (weight 0.16)', 'detector:face-x', 'detector:face-y']);
  });

  it('events for unknown rooms and peers create them', () => {
    const s = run([score('x', 'aasist', 0.3, 1)]);
    expect(s.calls).toHaveLength(1);
    expect(participant(s, 'x')).toMatchObject({ displayName: 'X', state: 'collecting' });
    expect(participant(s, 'x')?.timeline).toEqual([{ t: Date.parse(ts(1)), series: 'detector:aasist', value: 0.3 }]);
  });

  it('a poll never overrides a live verdict, but a snapshot (start of a stream) does', () => {
    let s = run([{ type: 'rooms', calls: [summary('r1', 'c-1', [['a', 'collecting']])] }, verdict('a', 'deepfake-likely', 0.9, 1)]);
    s = reduce(s, { type: 'rooms', calls: [summary('r1', 'c-1', [['a', 'collecting']])] });
    expect(participant(s, 'a')).toMatchObject({ state: 'deepfake-likely', present: true });
    expect(participant(s, 'a')?.timeline).toHaveLength(2);
    s = reduce(s, { type: 'snapshot', call: summary('r1', 'c-1', [['a', 'verified']]) });
    expect(participant(s, 'a')?.state).toBe('verified');
    expect(participant(s, 'a')?.timeline).toHaveLength(2);
  });

  it('a participant who leaves moves to History with the final state, decisions and evidence', () => {
    let s = run([
      { type: 'rooms', calls: [summary('r1', 'c-1', [['a', 'collecting'], ['b', 'collecting']])] },
      verdict('a', 'deepfake-likely', 0.9, 1, 0.8),
      { type: 'event', event: ev('decision', 'a', { decision: 'confirm', tagState: 'deepfake-likely', operator: 'op' }, 2) },
    ]);
    s = reduce(s, { type: 'rooms', at: ts(3), calls: [summary('r1', 'c-1', [['a', 'collecting', false], ['b', 'collecting']])] });
    expect(participant(s, 'a')).toBeUndefined();
    expect(s.calls[0]?.participants.map((p) => p.peerId)).toEqual(['b']);
    expect(s.departed).toHaveLength(1);
    expect(s.departed[0]).toMatchObject({ roomId: 'r1', callId: 'c-1', peerId: 'a', displayName: 'A', state: 'deepfake-likely', pFake: 0.9, confidence: 0.8, ended: 'left', at: ts(3) });
    expect(s.departed[0]?.evidence).toEqual({ speechSeconds: 1, faceFrames: 0 });
    expect(s.departed[0]?.decisions.map((d) => d.decision)).toEqual(['confirm']);
    expect(s.departed[0]?.models).toEqual([]);
    // Polls that still list the departed participant change nothing (no churn, no ghost).
    const again = reduce(s, { type: 'rooms', at: ts(9), calls: [summary('r1', 'c-1', [['a', 'collecting', false], ['b', 'collecting']])] });
    expect(again.departed).toBe(s.departed);
    expect(participant(again, 'a')).toBeUndefined();
  });

  it('late events about a departed participant update History and never bring back a live card', () => {
    let s = run([{ type: 'rooms', calls: [summary('r1', 'c-1', [['a', 'collecting']])] }, verdict('a', 'suspicious', 0.65, 1)]);
    s = reduce(s, { type: 'rooms', at: ts(2), calls: [summary('r1', 'c-1', [['a', 'collecting', false]])] });
    s = run([score('a', 'aasist', 0.9, 3), verdict('a', 'deepfake-likely', 0.9, 4, 0.7), challenge('a', 'outcome', 5, 'failed')], s);
    expect(participant(s, 'a')).toBeUndefined();
    expect(s.departed[0]).toMatchObject({ peerId: 'a', state: 'deepfake-likely', pFake: 0.9, confidence: 0.7 });
    expect(s.challengeLog[0]).toMatchObject({ peerId: 'a', outcome: 'failed' });
    s = reduce(s, { type: 'event', event: ev('decision', 'a', { decision: 'dismiss', tagState: 'deepfake-likely', operator: 'op' }, 6) });
    expect(s.departed[0]?.decisions.map((d) => d.decision)).toEqual(['dismiss']);
  });

  it('repeated joins under one name leave one live card; earlier sessions are History', () => {
    const named = (peerId: string, present: boolean) => ({ peerId, displayName: 'Alice', present, state: 'collecting', pFake: null, confidence: null });
    const call = (ps: ReturnType<typeof named>[]): CallSummary => ({ roomId: 'r1', callId: 'c-1', startedAt: ts(0), participants: ps });
    let s = reduce(initialState, { type: 'rooms', at: ts(1), calls: [call([named('p1', true)])] });
    s = reduce(s, { type: 'rooms', at: ts(2), calls: [call([named('p1', false), named('p2', true)])] });
    s = reduce(s, { type: 'rooms', at: ts(3), calls: [call([named('p1', false), named('p2', false), named('p3', true)])] });
    s = reduce(s, { type: 'rooms', at: ts(4), calls: [call([named('p1', false), named('p2', false), named('p3', true)])] });
    expect(s.calls[0]?.participants.map((p) => p.peerId)).toEqual(['p3']);
    expect(s.departed.map((d) => d.peerId)).toEqual(['p2', 'p1']);
  });

  it('the same peer back in the call is live again and leaves History', () => {
    let s = reduce(initialState, { type: 'rooms', calls: [summary('r1', 'c-1', [['a', 'collecting']])] });
    s = reduce(s, { type: 'rooms', calls: [summary('r1', 'c-1', [['a', 'collecting', false]])] });
    expect(s.departed).toHaveLength(1);
    s = reduce(s, { type: 'snapshot', call: summary('r1', 'c-1', [['a', 'likely-genuine']]) });
    expect(participant(s, 'a')?.state).toBe('likely-genuine');
    expect(s.departed).toHaveLength(0);
  });

  it('a call that ends (gone from the list, or ended in a snapshot) moves everyone in it to History', () => {
    let s = reduce(initialState, { type: 'rooms', calls: [summary('r1', 'c-1', [['a', 'collecting'], ['b', 'collecting']]), summary('r2', 'c-2', [['c', 'collecting']])] });
    s = reduce(s, { type: 'snapshot', at: ts(5), call: { ...summary('r2', 'c-2', [['c', 'verified', false]]), endedAt: ts(5) } });
    expect(s.calls.map((c) => c.roomId)).toEqual(['r1']);
    expect(s.departed.map((d) => `${d.peerId}:${d.state}`)).toEqual(['c:verified']);
    s = reduce(s, { type: 'rooms', at: ts(6), calls: [] });
    expect(s.calls).toEqual([]);
    expect(s.departed.map((d) => `${d.peerId}:${d.ended}`).sort()).toEqual(['a:call-ended', 'b:call-ended', 'c:left']);
  });

  it('bounds History', () => {
    const limits = { ...defaultDashboardLimits, departed: 3 };
    let s = initialState;
    for (let i = 0; i < 6; i++) {
      const ps: [string, string, boolean][] = Array.from({ length: i + 1 }, (_, j) => [`p${j}`, 'collecting', j === i]);
      s = reduce(s, { type: 'rooms', calls: [summary('r1', 'c-1', ps)] }, limits);
    }
    expect(s.departed.map((d) => d.peerId)).toEqual(['p4', 'p3', 'p2']);
  });

  it('a new call id for a room starts a clean view', () => {
    let s = run([{ type: 'rooms', calls: [summary('r1', 'c-1', [['a', 'collecting']])] }, verdict('a', 'suspicious', 0.6, 1)]);
    s = reduce(s, { type: 'rooms', calls: [summary('r1', 'c-2', [['a', 'collecting']])] });
    expect(participant(s, 'a')).toMatchObject({ state: 'collecting', liveVerdict: false, timeline: [] });
  });

  it('keeps a global challenge log (newest first) and alerts on failed outcomes only', () => {
    const s = run([challenge('a', 'issued', 1), challenge('a', 'outcome', 2, 'passed'), challenge('b', 'issued', 3), challenge('b', 'outcome', 4, 'timed-out')]);
    expect(s.challengeLog.map((c) => `${c.peerId}:${c.phase}:${c.outcome ?? ''}`)).toEqual(['b:outcome:timed-out', 'b:issued:', 'a:outcome:passed', 'a:issued:']);
    expect(s.alerts).toHaveLength(1);
    expect(s.alerts[0]).toMatchObject({ kind: 'challenge', value: 'timed-out', previous: 'read-digits', peerId: 'b' });
  });

  it('a challenge relayed by the agent (AudioHook) carries what to ask the caller; others do not', () => {
    const agent: DashboardAction = { type: 'event', event: ev('challenge', 'caller', { challengeId: 'ch2', challengeType: 'speak-softly', modality: 'audio', phase: 'issued', promptText: 'Whisper the digits 4 7 2', deliveredTo: 'agent' }, 1) };
    const own: DashboardAction = { type: 'event', event: ev('challenge', 'b', { challengeId: 'ch3', challengeType: 'speak-softly', modality: 'audio', phase: 'issued', promptText: 'Whisper', deliveredTo: 'participant' }, 2) };
    const s = run([agent, own]);
    expect(s.challengeLog.find((c) => c.challengeId === 'ch2')?.agentPrompt).toBe('Whisper the digits 4 7 2');
    expect(s.challengeLog.find((c) => c.challengeId === 'ch3')?.agentPrompt).toBeUndefined();
  });

  it('an issued challenge keeps its trigger, and a weak-evidence one what it acted on', () => {
    const weak = ev('challenge', 'caller', { challengeId: 'ch4', challengeType: 'hum-melody', modality: 'audio', phase: 'issued', trigger: 'weak-evidence', basis: { pFake: 0.571, threshold: 0.56, family: 'telephone' } }, 1);
    const op = ev('challenge', 'b', { challengeId: 'ch5', challengeType: 'hum-melody', modality: 'audio', phase: 'issued', trigger: 'operator' }, 2);
    // a malformed basis is dropped at the wire, the trigger kept
    const bad = ev('challenge', 'c', { challengeId: 'ch6', challengeType: 'hum-melody', modality: 'audio', phase: 'issued', trigger: 'weak-evidence', basis: { pFake: 'high', threshold: 2 } }, 3);
    const s = run([{ type: 'event', event: weak }, { type: 'event', event: op }, { type: 'event', event: bad }]);
    const byId = (id: string) => s.challengeLog.find((c) => c.challengeId === id);
    expect(byId('ch4')).toMatchObject({ trigger: 'weak-evidence', basis: { pFake: 0.571, threshold: 0.56, family: 'telephone' } });
    expect(triggerText(byId('ch4')!)).toBe('weak-evidence (pFake 0.57 ≥ 0.56, phone-leg threshold)');
    expect(byId('ch5')?.basis).toBeUndefined();
    expect(triggerText(byId('ch5')!)).toBe('operator');
    expect(byId('ch6')).toMatchObject({ trigger: 'weak-evidence' });
    expect(byId('ch6')?.basis).toBeUndefined();
    // a G.722 leg's threshold is named too
    const g722 = ev('challenge', 'd', { challengeId: 'ch7', challengeType: 'hum-melody', modality: 'audio', phase: 'issued', trigger: 'weak-evidence', basis: { pFake: 0.6, threshold: 0.58, family: 'g722' } }, 4);
    const s2 = run([{ type: 'event', event: g722 }]);
    expect(triggerText(s2.challengeLog.find((c) => c.challengeId === 'ch7')!)).toBe('weak-evidence (pFake 0.60 ≥ 0.58, G.722-leg threshold)');
    // and a gateway's Opus leg's
    const sipOpus = ev('challenge', 'e', { challengeId: 'ch8', challengeType: 'hum-melody', modality: 'audio', phase: 'issued', trigger: 'weak-evidence', basis: { pFake: 0.61, threshold: 0.57, family: 'sip-opus' } }, 5);
    const s3 = run([{ type: 'event', event: sipOpus }]);
    expect(triggerText(s3.challengeLog.find((c) => c.challengeId === 'ch8')!)).toBe('weak-evidence (pFake 0.61 ≥ 0.57, Opus SIP-leg threshold)');
  });

  it('records decisions per participant, newest first', () => {
    const s = run([
      { type: 'event', event: ev('decision', 'a', { decision: 'confirm', tagState: 'deepfake-likely', operator: 'op' }, 1) },
      { type: 'event', event: ev('decision', 'a', { decision: 'dismiss', tagState: 'suspicious', operator: 'op' }, 2) },
    ]);
    expect(participant(s, 'a')?.decisions.map((d) => d.decision)).toEqual(['dismiss', 'confirm']);
  });

  it('bounds timelines, alerts and the challenge log', () => {
    const limits = { ...defaultDashboardLimits, timelinePoints: 10, alerts: 3, challengeLog: 4 };
    let s = initialState;
    for (let i = 0; i < 20; i++) {
      s = reduce(s, verdict('a', i % 2 ? 'suspicious' : 'deepfake-likely', 0.7, i), limits);
      s = reduce(s, challenge('a', 'outcome', i, 'failed'), limits);
    }
    expect(participant(s, 'a')?.timeline).toHaveLength(10);
    expect(participant(s, 'a')?.timeline[0]?.t).toBe(Date.parse(ts(15)));
    expect(s.alerts).toHaveLength(3);
    expect(s.challengeLog).toHaveLength(4);
  });

  it('history backfills the timeline without duplicating live points, in either order', () => {
    let s = run([{ type: 'rooms', calls: [summary('r1', 'c-1', [['a', 'collecting']])] }, verdict('a', 'likely-genuine', 0.2, 10)]);
    s = reduce(s, {
      type: 'history',
      roomId: 'r1',
      record: {
        peerId: 'a',
        displayName: 'A',
        history: [
          { ts: ts(5), kind: 'score', label: 'meso4', pFake: 0.4 },
          { ts: ts(6), kind: 'verdict', label: 'collecting', pFake: 0.3, confidence: 0.1 },
          { ts: ts(10), kind: 'verdict', label: 'likely-genuine', pFake: 0.2, confidence: 0.5 },
        ],
        challenges: [],
        decisions: [{ ts: ts(7), decision: 'dismiss', tagState: 'suspicious', operator: 'op' }],
      },
    });
    const p = participant(s, 'a')!;
    expect(p.timeline.map((x) => `${x.series}@${(x.t - Date.parse(ts(0))) / 1000}`)).toEqual(['detector:meso4@5', 'pFake@6', 'confidence@6', 'pFake@10', 'confidence@10']);
    expect(p.decisions).toHaveLength(1);
    // History first, then the same verdict live (the race between fetch and stream).
    const live = verdict('a', 'likely-genuine', 0.2, 10);
    const both = reduce(s, live);
    expect(participant(both, 'a')?.timeline).toHaveLength(5);
    expect(reduce(s, { type: 'history', roomId: 'nope', record: { peerId: 'a', displayName: 'A', history: [], challenges: [], decisions: [] } }).ignored).toBe(1);
  });

  it('never mutates the previous state (the view relies on identity to skip work)', () => {
    const s1 = run([verdict('a', 'likely-genuine', 0.1, 1), score('b', 'aasist', 0.2, 1)]);
    const frozen = JSON.stringify(s1);
    const s2 = reduce(s1, verdict('a', 'suspicious', 0.5, 2));
    expect(JSON.stringify(s1)).toBe(frozen);
    expect(participant(s2, 'b')).toBe(participant(s1, 'b'));
    expect(participant(s2, 'a')).not.toBe(participant(s1, 'a'));
  });

  it('addPoints keeps time order when a late point arrives', () => {
    const out = addPoints([{ t: 1, series: 's', value: 0 }, { t: 3, series: 's', value: 0 }], [{ t: 2, series: 's', value: 1 }], 10);
    expect(out.map((p) => p.t)).toEqual([1, 2, 3]);
    expect(addPoints(out, [{ t: 2, series: 's', value: 1 }], 10)).toBe(out);
    expect(addPoints(out, [{ t: 2, series: 'other', value: 1 }], 10)).toHaveLength(4);
  });
});

describe('wire parsing', () => {
  it('rejects malformed events and unsupported types', () => {
    const good = { id: 'e1', type: 'verdict', roomId: 'r', peerId: 'p', displayName: 'P', ts: ts(1), payload: { state: 'suspicious', pFake: 0.5, confidence: 0.4 } };
    expect(parseWireEvent(good)?.type).toBe('verdict');
    expect(parseWireEvent({ ...good, payload: { ...good.payload, state: 'bogus' } })).toBeUndefined();
    expect(parseWireEvent({ ...good, payload: { ...good.payload, pFake: 2 } })).toBeUndefined();
    expect(parseWireEvent({ ...good, ts: 'yesterday' })).toBeUndefined();
    expect(parseWireEvent({ ...good, type: 'quality', payload: {} })).toBeUndefined();
    expect(parseWireEvent(null)).toBeUndefined();
    expect(parseWireEvent('x')).toBeUndefined();
  });

  it('parses call summaries leniently and skips bad participants', () => {
    const c = parseCallSummary({ roomId: 'r', callId: 'c', startedAt: ts(0), participants: [{ peerId: 'a', displayName: 'A', present: true, state: 'collecting', pFake: null, confidence: null }, { nope: 1 }] });
    expect(c?.participants.map((p) => p.peerId)).toEqual(['a']);
    expect(c?.node).toBeUndefined();
    expect(parseCallSummary({ roomId: 'r' })).toBeUndefined();
  });

  it("keeps the node serving another node's call (several nodes) through to the call's view", () => {
    const c = parseCallSummary({ roomId: 'r', callId: 'c', startedAt: ts(0), node: 'node-a', participants: [{ peerId: 'a', displayName: 'A', present: true, state: 'collecting', pFake: null, confidence: null }] });
    expect(c?.node).toBe('node-a');
    expect(parseCallSummary({ roomId: 'r', callId: 'c', node: 'x'.repeat(200), participants: [] })?.node).toBeUndefined();
    expect(reduce(initialState, { type: 'rooms', at: ts(1), calls: [c!] }).calls[0]?.node).toBe('node-a');
  });
});

describe('timeline alignment for uPlot', () => {
  it('builds one x column in seconds and one column per series with nulls for gaps', () => {
    const a = alignTimeline([
      { t: 2000, series: 'detector:meso4', value: 0.4 },
      { t: 1000, series: 'pFake', value: 0.1 },
      { t: 1000, series: 'confidence', value: 0.3 },
      { t: 2000, series: 'detector:aasist', value: 0.6 },
      { t: 3000, series: 'pFake', value: 0.2 },
    ]);
    expect(a.series).toEqual(['pFake', 'confidence', 'detector:aasist', 'detector:meso4']);
    expect(a.data).toEqual([
      [1, 2, 3],
      [0.1, null, 0.2],
      [0.3, null, null],
      [null, 0.6, null],
      [null, 0.4, null],
    ]);
    expect(alignTimeline([]).data).toEqual([[]]);
  });
});
