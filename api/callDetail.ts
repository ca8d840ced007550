/**
 * `GET /v1/calls/{id}`: a call's history entry plus, per participant, the verdict and score
 * timeline, every challenge with its phases and outcome, and the operator decisions. Built
 * from the call's events as stored in the audit trail (complete), or from the registry's
 * bounded in-memory rings when the service runs without events.
 */
import type { DfdEvent } from '../events/schema.js';
import type { CallRecord } from './CallRegistry.js';
import type { CallDetail, ChallengeDetail, DetailPoint, HistoryEntry, HistoryParticipant, ModelCoverage, ParticipantDetail } from './historyWire.js';

function emptyParticipant(peerId: string, displayName: string, ts: string): HistoryParticipant {
  return { peerId, displayName, joinedAt: ts, leftAt: null, finalState: 'collecting', pFake: null, confidence: null, reason: null };
}

/** A verdict's model list as the detail shows it: counts the event left out are 0. */
function coverageOf(models: DfdEvent['models']): ModelCoverage[] {
  return models.map((m) => ({ id: m.id, version: m.version, ...(m.task !== undefined ? { task: m.task } : {}), windows: m.windows ?? 0, dropped: m.dropped ?? 0 }));
}

function challengeOf(list: ChallengeDetail[], id: string, type: string, modality: string): ChallengeDetail {
  let c = list.find((x) => x.challengeId === id);
  if (!c) {
    c = { challengeId: id, challengeType: type, modality, trigger: null, basis: null, promptText: null, side: null, issuedAt: null, endedAt: null, outcome: null, reason: null, measurements: {}, phases: [] };
    list.push(c);
  }
  return c;
}

/** Detail from the call's events, in chain order. */
export function detailFromEvents(entry: HistoryEntry, events: readonly DfdEvent[]): CallDetail {
  const byPeer = new Map<string, ParticipantDetail>();
  for (const p of entry.participants) byPeer.set(p.peerId, { ...p, models: [], timeline: [], challenges: [], decisions: [] });
  for (const e of events) {
    let p = byPeer.get(e.peerId);
    if (!p) byPeer.set(e.peerId, (p = { ...emptyParticipant(e.peerId, e.displayName, e.ts), models: [], timeline: [], challenges: [], decisions: [] }));
    switch (e.type) {
      case 'verdict':
        p.timeline.push({ ts: e.ts, kind: 'verdict', state: e.payload.state, pFake: e.payload.pFake, confidence: e.payload.confidence, ...(e.payload.reason ? { reason: e.payload.reason } : {}) });
        p.finalState = e.payload.state;
        p.pFake = e.payload.pFake;
        p.confidence = e.payload.confidence;
        p.reason = e.payload.reason ?? null;
        p.models = coverageOf(e.models);
        break;
      case 'score':
        p.timeline.push({ ts: e.ts, kind: 'score', detector: e.payload.detector, pFake: e.payload.pFake, ...(e.payload.weight !== undefined ? { weight: e.payload.weight } : {}) });
        break;
      case 'challenge': {
        const x = e.payload;
        const c = challengeOf(p.challenges, x.challengeId, x.challengeType, x.modality);
        c.phases.push({ phase: x.phase, ts: e.ts });
        if (x.phase === 'issued') {
          c.issuedAt = e.ts;
          c.trigger = x.trigger ?? null;
          c.basis = x.basis ? { ...x.basis } : null;
          c.promptText = x.promptText ?? null;
          c.side = x.side ?? null;
        }
        if (x.phase === 'outcome' || x.phase === 'cancelled') {
          c.endedAt = e.ts;
          c.outcome = x.phase === 'cancelled' ? 'cancelled' : (x.outcome ?? null);
          c.reason = x.reason ?? null;
          c.measurements = { ...(x.measurements ?? {}) };
        }
        break;
      }
      case 'decision':
        p.decisions.push({ ts: e.ts, decision: e.payload.decision, tagState: e.payload.tagState, operator: e.payload.operator, note: e.payload.note ?? null });
        break;
      case 'quality':
        break;
    }
  }
  // Chain order is arrival order; the timeline reads in event time (stable for equal times).
  for (const p of byPeer.values()) p.timeline.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  return { ...entry, source: 'audit-trail', events: events.length, participants: [...byPeer.values()] };
}

/** Detail from the registry's in-memory rings (recent points only). */
export function detailFromRecord(entry: HistoryEntry, call: CallRecord): CallDetail {
  let events = 0;
  const participants = entry.participants.map((p): ParticipantDetail => {
    const r = call.participants.get(p.peerId);
    const timeline: DetailPoint[] = (r?.history ?? []).map((h) =>
      h.kind === 'verdict' ? { ts: h.ts, kind: 'verdict', state: h.label, pFake: h.pFake, confidence: h.confidence ?? 0 } : { ts: h.ts, kind: 'score', detector: h.label, pFake: h.pFake },
    );
    const challenges: ChallengeDetail[] = [];
    for (const c of r?.challenges ?? []) {
      const d = challengeOf(challenges, c.challengeId, c.challengeType, '');
      d.phases.push({ phase: c.phase, ts: c.ts });
      if (c.phase === 'issued') d.issuedAt = c.ts;
      if (c.phase === 'outcome' || c.phase === 'cancelled') {
        d.endedAt = c.ts;
        d.outcome = c.phase === 'cancelled' ? 'cancelled' : (c.outcome ?? null);
      }
    }
    const decisions = (r?.decisions ?? []).map((d) => ({ ...d, note: null }));
    events += timeline.length + (r?.challenges.length ?? 0) + decisions.length;
    return { ...p, models: coverageOf(r?.verdictModels ?? []), timeline, challenges, decisions };
  });
  return { ...entry, source: 'memory', events, participants };
}
