/**
 * The dashboard's view model and its pure reducer: wire data in (call summaries, SSE
 * snapshots, events, participant histories), a new immutable state out. No DOM here, so
 * every transition is unit tested in node (`state.test.ts`). Everything is bounded by
 * `DashboardLimits`.
 *
 * Live calls hold only participants who are in the call. A participant who leaves, and
 * every participant of a call that ends, moves to `departed` (the dashboard's History) with
 * the final state; later events about them update that entry and never bring back a live
 * card (no ghosts). A participant seen in the call again (same peer id) is live again.
 */
import type { ChallengeBasis } from '../../api/historyWire.js';
import { isVerdictState, type CallSummary, type Evidence, type ParticipantRecord, type VerdictState, type WireEvent } from './types.js';
import type { ModelCoverage } from './modelCoverage.js';

export interface DashboardLimits {
  /** Timeline points kept per participant (a verdict adds two: pFake and confidence). */
  timelinePoints: number;
  alerts: number;
  challengeLog: number;
  decisionsPerParticipant: number;
  /** Departed participants kept in History. */
  departed: number;
}

export const defaultDashboardLimits: DashboardLimits = { timelinePoints: 600, alerts: 100, challengeLog: 200, decisionsPerParticipant: 20, departed: 100 };

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
  /** What the agent is to ask the caller, when the challenge is relayed by the agent (phase "issued"). */
  agentPrompt?: string;
  /** What started it (phase "issued"), and for a weak-evidence challenge what it acted on. */
  trigger?: string;
  basis?: ChallengeBasis;
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
  /** What the latest live verdict rested on (absent until one arrives). */
  evidence: Evidence | undefined;
  /** The models that analysed the participant, with windows scored and dropped (latest live verdict). */
  models: ModelCoverage[] | undefined;
  /** Set once a verdict arrived on the live stream (polls then no longer override the state). */
  liveVerdict: boolean;
  timeline: TimelinePoint[];
  decisions: DecisionEntry[];
}

/** A participant who left, or whose call ended: their final state, without actions. */
export interface DepartedEntry {
  roomId: string;
  callId: string;
  peerId: string;
  displayName: string;
  state: VerdictState;
  pFake: number | null;
  confidence: number | null;
  reason: string | undefined;
  evidence: Evidence | undefined;
  /** The models the last live verdict named, with windows scored and dropped under load. */
  models: ModelCoverage[] | undefined;
  decisions: DecisionEntry[];
  /** Why it is history: the participant left, or the whole call ended. */
  ended: 'left' | 'call-ended';
  /** When the dashboard saw it end (ISO 8601). */
  at: string;
}

export interface CallView {
  roomId: string;
  callId: string;
  startedAt: string;
  participants: ParticipantView[];
  /** The service node serving the call when it is another one. */
  node?: string | undefined;
}

export interface DashboardState {
  /** Open calls, sorted by room id; only participants who are in the call. */
  calls: CallView[];
  /** Departed participants and those of ended calls, newest first. */
  departed: DepartedEntry[];
  /** Newest first. */
  alerts: Alert[];
  /** Newest first. */
  challengeLog: ChallengeEntry[];
  applied: number;
  ignored: number;
}

export type DashboardAction =
  /** One SSE `snapshot` (sent on every (re)connect): authoritative for that call. */
  | { type: 'snapshot'; call: CallSummary; at?: string }
  /**
   * `GET /v1/rooms`: the full list of open calls (membership; state only where no live
   * verdict was seen). `at` (ISO 8601, default: now) stamps departures it reveals.
   */
  | { type: 'rooms'; calls: CallSummary[]; at?: string }
  | { type: 'event'; event: WireEvent }
  /** `GET /v1/rooms/:room/participants/:peer`: backfills the timeline (points already there are skipped). */
  | { type: 'history'; roomId: string; record: ParticipantRecord };

export const initialState: DashboardState = { calls: [], departed: [], alerts: [], challengeLog: [], applied: 0, ignored: 0 };

const ALERT_STATES: ReadonlySet<string> = new Set(['suspicious', 'deepfake-likely']);
const FAILED_OUTCOMES: ReadonlySet<string> = new Set(['failed', 'non-compliant', 'timed-out']);

function newParticipant(peerId: string, displayName: string): ParticipantView {
  return { peerId, displayName, present: true, state: 'collecting', pFake: null, confidence: null, reason: undefined, evidence: undefined, models: undefined, liveVerdict: false, timeline: [], decisions: [] };
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

/** The same participant of the same call (an empty call id, from an event without one, matches any). */
function isEntryOf(d: DepartedEntry, roomId: string, peerId: string, callId: string | undefined): boolean {
  return d.roomId === roomId && d.peerId === peerId && (!callId || !d.callId || d.callId === callId);
}

function departedEntry(call: { roomId: string; callId: string }, p: ParticipantView, ended: DepartedEntry['ended'], at: string): DepartedEntry {
  return {
    roomId: call.roomId,
    callId: call.callId,
    peerId: p.peerId,
    displayName: p.displayName,
    state: p.state,
    pFake: p.pFake,
    confidence: p.confidence,
    reason: p.reason,
    evidence: p.evidence,
    models: p.models,
    decisions: p.decisions,
    ended,
    at,
  };
}

/**
 * Merges a call summary into the live view. Participants the summary marks as gone come
 * back in `left` (unless History already has them); everyone else stays live.
 */
function mergeSummary(existing: CallView | undefined, s: CallSummary, authoritative: boolean, departed: DepartedEntry[], at: string): { call: CallView; left: DepartedEntry[] } {
  // A new call id for the room is a new call: start from a clean view.
  const base = existing && (existing.callId === s.callId || existing.callId === '') ? existing : undefined;
  const byId = new Map((base?.participants ?? []).map((p) => [p.peerId, p]));
  const participants: ParticipantView[] = [];
  const left: DepartedEntry[] = [];
  for (const sp of s.participants) {
    const live = byId.get(sp.peerId);
    byId.delete(sp.peerId);
    // Gone and not live: already in History, unless this call is new to the dashboard (it loaded after they left).
    if (!sp.present && !live && (base || departed.some((d) => isEntryOf(d, s.roomId, sp.peerId, s.callId)))) continue;
    const p = live ?? newParticipant(sp.peerId, sp.displayName);
    const takeState = authoritative || !p.liveVerdict;
    const state = takeState && isVerdictState(sp.state) ? sp.state : p.state;
    const merged: ParticipantView = {
      ...p,
      displayName: sp.displayName,
      present: sp.present,
      state,
      pFake: takeState ? sp.pFake : p.pFake,
      confidence: takeState ? sp.confidence : p.confidence,
    };
    if (sp.present) participants.push(merged);
    else left.push(departedEntry(s, merged, 'left', at));
  }
  // Participants only known from events (not yet in the registry's summary) are kept.
  participants.push(...byId.values());
  return { call: { roomId: s.roomId, callId: s.callId, startedAt: s.startedAt, participants, node: s.node }, left };
}

/**
 * Adds departures (newest first, one entry per participant of a call, bounded) and drops
 * History entries of participants who are live again.
 */
function withDeparted(state: DashboardState, calls: CallView[], added: DepartedEntry[], limits: DashboardLimits): DashboardState {
  const isLive = (d: DepartedEntry): boolean => calls.some((c) => c.roomId === d.roomId && (!d.callId || !c.callId || c.callId === d.callId) && c.participants.some((p) => p.peerId === d.peerId));
  const kept = state.departed.filter((d) => !isLive(d) && !added.some((a) => isEntryOf(d, a.roomId, a.peerId, a.callId)));
  const departed = added.length === 0 && kept.length === state.departed.length ? state.departed : bounded([...added, ...kept], limits.departed, true);
  return { ...state, calls, departed };
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

/**
 * An event about a participant who is in History (and not live): it updates their final
 * state or decisions there, and never brings back a live card. Undefined when not departed.
 */
function applyToDeparted(state: DashboardState, e: WireEvent, limits: DashboardLimits): DashboardState | undefined {
  if (findParticipant(state, e.roomId, e.peerId)) return undefined;
  const idx = state.departed.findIndex((d) => isEntryOf(d, e.roomId, e.peerId, e.callId));
  const entry = state.departed[idx];
  if (!entry) return undefined;
  const next: DashboardState = { ...state, applied: state.applied + 1 };
  let updated = entry;
  switch (e.type) {
    case 'verdict':
      updated = { ...entry, state: e.payload.state, pFake: e.payload.pFake, confidence: e.payload.confidence, reason: e.payload.reason, evidence: e.payload.evidence ?? entry.evidence };
      break;
    case 'decision': {
      const d = e.payload;
      updated = { ...entry, decisions: bounded([{ ts: e.ts, decision: d.decision, tagState: d.tagState, operator: d.operator }, ...entry.decisions], limits.decisionsPerParticipant, true) };
      break;
    }
    case 'challenge':
      next.challengeLog = bounded(
        [{ ts: e.ts, roomId: e.roomId, peerId: e.peerId, displayName: e.displayName, challengeId: e.payload.challengeId, challengeType: e.payload.challengeType, phase: e.payload.phase, outcome: e.payload.outcome }, ...state.challengeLog],
        limits.challengeLog,
        true,
      );
      break;
    case 'score':
      break;
  }
  if (updated !== entry) next.departed = state.departed.map((d, i) => (i === idx ? updated : d));
  return next;
}

function applyEvent(state: DashboardState, e: WireEvent, limits: DashboardLimits): DashboardState {
  const toDeparted = applyToDeparted(state, e, limits);
  if (toDeparted) return toDeparted;
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
        evidence: v.evidence ?? p.evidence,
        models: e.models ?? p.models,
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
        ...(c.phase === 'issued' && c.deliveredTo === 'agent' && c.promptText ? { agentPrompt: c.promptText } : {}),
        ...(c.phase === 'issued' && c.trigger ? { trigger: c.trigger } : {}),
        ...(c.phase === 'issued' && c.basis ? { basis: c.basis } : {}),
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
      const at = action.at ?? new Date().toISOString();
      const s = action.call;
      const existing = state.calls.find((c) => c.roomId === s.roomId);
      const ended = existing && existing.callId && existing.callId !== s.callId ? existing.participants.map((p) => departedEntry(existing, p, 'call-ended', at)) : [];
      if (s.endedAt) {
        const { call, left } = mergeSummary(existing, s, true, state.departed, at);
        const gone = [...ended, ...left, ...call.participants.map((p) => departedEntry(call, p, 'call-ended', at))];
        return withDeparted(state, state.calls.filter((c) => c !== existing), gone, limits);
      }
      const { call, left } = mergeSummary(existing, s, true, state.departed, at);
      return withDeparted(state, sortCalls([...state.calls.filter((c) => c !== existing), call]), [...ended, ...left], limits);
    }
    case 'rooms': {
      const at = action.at ?? new Date().toISOString();
      const open = action.calls.filter((s) => !s.endedAt);
      const byRoom = new Map(state.calls.map((c) => [c.roomId, c]));
      const gone: DepartedEntry[] = [];
      // Calls missing from the list (or replaced by a new call in their room) have ended: whoever was still in them leaves with them.
      for (const c of state.calls) {
        const next = open.find((s) => s.roomId === c.roomId);
        if (!next || (c.callId !== '' && next.callId !== c.callId)) gone.push(...c.participants.map((p) => departedEntry(c, p, 'call-ended', at)));
      }
      const calls: CallView[] = [];
      for (const s of open) {
        const { call, left } = mergeSummary(byRoom.get(s.roomId), s, false, state.departed, at);
        calls.push(call);
        gone.push(...left);
      }
      return withDeparted(state, sortCalls(calls), gone, limits);
    }
    case 'event':
      return applyEvent(state, action.event, limits);
    case 'history':
      return applyHistory(state, action.roomId, action.record, limits);
  }
}
