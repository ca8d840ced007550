/**
 * The dashboard's view model and its pure reducer: wire data in (call summaries, SSE
 * snapshots, events, participant histories), a new immutable state out. No DOM here, so
 * every transition is unit tested in node (`state.test.ts`). Everything is bounded by
 * `DashboardLimits`.
 */
import { isVerdictState, type CallSummary, type ParticipantRecord, type VerdictState, type WireEvent } from './types.js';

export interface DashboardLimits {
  /** Timeline points kept per participant (a verdict adds two: pFake and confidence). */
  timelinePoints: number;
  alerts: number;
  challengeLog: number;
  decisionsPerParticipant: number;
}

export const defaultDashboardLimits: DashboardLimits = { timelinePoints: 600, alerts: 100, challengeLog: 200, decisionsPerParticipant: 20 };

/**
 * A detector's series name. A detector the verdict weighs less than fully says so in its
 * legend ("voice-antispoof (weight 0)"), so an operator does not read an ignored model's line
 * as the verdict's evidence.
 */
export function detectorSeries(detector: string, weight: number | undefined): string {
  return weight === undefined || weight >= 1 ? `detector:${detector}` : `detector:${detector} (weight ${Math.round(weight * 100) / 100})`;
}

/** Series names: `pFake` and `confidence` from verdicts, `detector:<id>` from scores. */
export interface TimelinePoint {
  /** Milliseconds since the epoch. */
  t: number;
  series: string;
  value: number;
}

export interface ChallengeEntry {
  ts: string;
  roomId: string;
  peerId: string;
  displayName: string;
  challengeId: string;
  challengeType: string;
  phase: string;
  outcome: string | undefined;
}

export interface DecisionEntry {
  ts: string;
  decision: string;
  tagState: string;
  operator: string;
}

export interface Alert {
  /** The id of the event that raised it. */
  id: string;
  ts: string;
  roomId: string;
  peerId: string;
  displayName: string;
  kind: 'verdict' | 'challenge';
  /** The new verdict state, or the challenge outcome. */
  value: string;
  previous: string | undefined;
}

export interface ParticipantView {
  peerId: string;
  displayName: string;
  present: boolean;
  state: VerdictState;
  pFake: number | null;
  confidence: number | null;
  reason: string | undefined;
  /** Set once a verdict arrived on the live stream (polls then no longer override the state). */
  liveVerdict: boolean;
  timeline: TimelinePoint[];
  decisions: DecisionEntry[];
}

export interface CallView {
  roomId: string;
  callId: string;
  startedAt: string;
  participants: ParticipantView[];
}

export interface DashboardState {
  /** Open calls, sorted by room id. */
  calls: CallView[];
  /** Newest first. */
  alerts: Alert[];
  /** Newest first. */
  challengeLog: ChallengeEntry[];
  applied: number;
  ignored: number;
}

export type DashboardAction =
  /** One SSE `snapshot` (sent on every (re)connect): authoritative for that call. */
  | { type: 'snapshot'; call: CallSummary }
  /** `GET /v1/rooms`: the full list of open calls (membership; state only where no live verdict was seen). */
  | { type: 'rooms'; calls: CallSummary[] }
  | { type: 'event'; event: WireEvent }
  /** `GET /v1/rooms/:room/participants/:peer`: backfills the timeline (points already there are skipped). */
  | { type: 'history'; roomId: string; record: ParticipantRecord };

export const initialState: DashboardState = { calls: [], alerts: [], challengeLog: [], applied: 0, ignored: 0 };

const ALERT_STATES: ReadonlySet<string> = new Set(['suspicious', 'deepfake-likely']);
const FAILED_OUTCOMES: ReadonlySet<string> = new Set(['failed', 'non-compliant', 'timed-out']);

function newParticipant(peerId: string, displayName: string): ParticipantView {
  return { peerId, displayName, present: true, state: 'collecting', pFake: null, confidence: null, reason: undefined, liveVerdict: false, timeline: [], decisions: [] };
}

function bounded<T>(items: T[], max: number, fromStart: boolean): T[] {
  if (items.length <= max) return items;
  return fromStart ? items.slice(0, max) : items.slice(items.length - max);
}

/**
 * Adds points keeping the timeline sorted by time, without duplicates (same time and
 * series: the live stream and a history backfill may both carry a point) and bounded
 * (oldest dropped).
 */
export function addPoints(timeline: TimelinePoint[], points: TimelinePoint[], max: number): TimelinePoint[] {
  const fresh = points.filter((p) => {
    for (let i = timeline.length - 1; i >= 0 && timeline[i]!.t >= p.t; i--) {
      if (timeline[i]!.t === p.t && timeline[i]!.series === p.series) return false;
    }
    return true;
  });
  if (fresh.length === 0) return timeline;
  const out = timeline.concat(fresh);
  for (let i = Math.max(1, timeline.length); i < out.length; i++) {
    if (out[i]!.t < out[i - 1]!.t) {
      out.sort((a, b) => a.t - b.t);
      break;
    }
  }
  return bounded(out, max, false);
}

function sortCalls(calls: CallView[]): CallView[] {
  return calls.slice().sort((a, b) => (a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0));
}

function mergeSummary(existing: CallView | undefined, s: CallSummary, authoritative: boolean): CallView {
  // A new call id for the room is a new call: start from a clean view.
  const base = existing && existing.callId === s.callId ? existing : undefined;
  const byId = new Map((base?.participants ?? []).map((p) => [p.peerId, p]));
  const participants: ParticipantView[] = [];
  for (const sp of s.participants) {
    const p = byId.get(sp.peerId) ?? newParticipant(sp.peerId, sp.displayName);
    byId.delete(sp.peerId);
    const takeState = authoritative || !p.liveVerdict;
    const state = takeState && isVerdictState(sp.state) ? sp.state : p.state;
    participants.push({
      ...p,
      displayName: sp.displayName,
      present: sp.present,
      state,
      pFake: takeState ? sp.pFake : p.pFake,
      confidence: takeState ? sp.confidence : p.confidence,
    });
  }
  // Participants only known from events (not yet in the registry's summary) are kept.
  participants.push(...byId.values());
  return { roomId: s.roomId, callId: s.callId, startedAt: s.startedAt, participants };
}

function updateParticipant(state: DashboardState, e: WireEvent, fn: (p: ParticipantView) => ParticipantView): CallView[] {
  let call = state.calls.find((c) => c.roomId === e.roomId);
  const added = !call;
  call ??= { roomId: e.roomId, callId: e.callId ?? '', startedAt: e.ts, participants: [] };
  const idx = call.participants.findIndex((p) => p.peerId === e.peerId);
  const before = call.participants[idx] ?? newParticipant(e.peerId, e.displayName);
  const after = fn(before);
  const participants = idx >= 0 ? call.participants.map((p, i) => (i === idx ? after : p)) : [...call.participants, after];
  const updated: CallView = { ...call, participants };
  return added ? sortCalls([...state.calls, updated]) : state.calls.map((c) => (c.roomId === e.roomId ? updated : c));
}

function findParticipant(state: DashboardState, roomId: string, peerId: string): ParticipantView | undefined {
  return state.calls.find((c) => c.roomId === roomId)?.participants.find((p) => p.peerId === peerId);
}

function applyEvent(state: DashboardState, e: WireEvent, limits: DashboardLimits): DashboardState {
  const t = Date.parse(e.ts);
  const next: DashboardState = { ...state, applied: state.applied + 1 };
  switch (e.type) {
    case 'verdict': {
      const prev = findParticipant(state, e.roomId, e.peerId)?.state;
      const v = e.payload;
      next.calls = updateParticipant(state, e, (p) => ({
        ...p,
        state: v.state,
        pFake: v.pFake,
        confidence: v.confidence,
        reason: v.reason,
        liveVerdict: true,
        timeline: addPoints(
          p.timeline,
          [
            { t, series: 'pFake', value: v.pFake },
            { t, series: 'confidence', value: v.confidence },
          ],
          limits.timelinePoints,
        ),
      }));
      if (ALERT_STATES.has(v.state) && prev !== v.state) {
        const alert: Alert = { id: e.id, ts: e.ts, roomId: e.roomId, peerId: e.peerId, displayName: e.displayName, kind: 'verdict', value: v.state, previous: prev };
        next.alerts = bounded([alert, ...state.alerts], limits.alerts, true);
      }
      return next;
    }
    case 'score':
      next.calls = updateParticipant(state, e, (p) => ({
        ...p,
        timeline: addPoints(p.timeline, [{ t, series: detectorSeries(e.payload.detector, e.payload.weight), value: e.payload.pFake }], limits.timelinePoints),
      }));
      return next;
    case 'challenge': {
      const c = e.payload;
      next.calls = updateParticipant(state, e, (p) => p);
      const entry: ChallengeEntry = {
        ts: e.ts,
        roomId: e.roomId,
        peerId: e.peerId,
        displayName: e.displayName,
        challengeId: c.challengeId,
        challengeType: c.challengeType,
        phase: c.phase,
        outcome: c.outcome,
      };
      next.challengeLog = bounded([entry, ...state.challengeLog], limits.challengeLog, true);
      if (c.phase === 'outcome' && c.outcome !== undefined && FAILED_OUTCOMES.has(c.outcome)) {
        const alert: Alert = { id: e.id, ts: e.ts, roomId: e.roomId, peerId: e.peerId, displayName: e.displayName, kind: 'challenge', value: c.outcome, previous: c.challengeType };
        next.alerts = bounded([alert, ...state.alerts], limits.alerts, true);
      }
      return next;
    }
    case 'decision': {
      const d = e.payload;
      next.calls = updateParticipant(state, e, (p) => ({
        ...p,
        decisions: bounded([{ ts: e.ts, decision: d.decision, tagState: d.tagState, operator: d.operator }, ...p.decisions], limits.decisionsPerParticipant, true),
      }));
      return next;
    }
  }
}

function applyHistory(state: DashboardState, roomId: string, r: ParticipantRecord, limits: DashboardLimits): DashboardState {
  const call = state.calls.find((c) => c.roomId === roomId);
  const p = call?.participants.find((x) => x.peerId === r.peerId);
  if (!call || !p) return { ...state, ignored: state.ignored + 1 };
  const points: TimelinePoint[] = [];
  for (const h of r.history) {
    const t = Date.parse(h.ts);
    if (Number.isNaN(t) || typeof h.pFake !== 'number') continue;
    if (h.kind === 'verdict') {
      points.push({ t, series: 'pFake', value: h.pFake });
      if (typeof h.confidence === 'number') points.push({ t, series: 'confidence', value: h.confidence });
    } else points.push({ t, series: `detector:${h.label}`, value: h.pFake });
  }
  const decisions = p.decisions.length
    ? p.decisions
    : bounded(
        r.decisions.map((d) => ({ ts: d.ts, decision: d.decision, tagState: d.tagState, operator: d.operator })).reverse(),
        limits.decisionsPerParticipant,
        true,
      );
  const timeline = addPoints(p.timeline, points, limits.timelinePoints);
  const updated: CallView = { ...call, participants: call.participants.map((x) => (x === p ? { ...p, timeline, decisions } : x)) };
  return { ...state, calls: state.calls.map((c) => (c === call ? updated : c)) };
}

export function reduce(state: DashboardState, action: DashboardAction, limits: DashboardLimits = defaultDashboardLimits): DashboardState {
  switch (action.type) {
    case 'snapshot': {
      const existing = state.calls.find((c) => c.roomId === action.call.roomId);
      const merged = mergeSummary(existing, action.call, true);
      return { ...state, calls: sortCalls([...state.calls.filter((c) => c !== existing), merged]) };
    }
    case 'rooms': {
      const byRoom = new Map(state.calls.map((c) => [c.roomId, c]));
      // Calls missing from the list have ended.
      const calls = action.calls.filter((s) => !s.endedAt).map((s) => mergeSummary(byRoom.get(s.roomId), s, false));
      return { ...state, calls: sortCalls(calls) };
    }
    case 'event':
      return applyEvent(state, action.event, limits);
    case 'history':
      return applyHistory(state, action.roomId, action.record, limits);
  }
}
