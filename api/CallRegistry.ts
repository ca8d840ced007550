/**
 * The API's read model: rooms, their current call, participants, each participant's
 * latest verdict and a bounded history of verdicts, scores and challenges for charts.
 * Fed by SFU membership (join/leave) and by the events the pipeline publishes.
 * A call ends `endGraceMs` after its last participant left (a rejoin within it, e.g. after a
 * network drop, continues the call), when its room closes, or at shutdown (`endAll`); the next
 * join starts a new call.
 * Late events of a participant of an ended call still go to that call.
 * Bounded: ended calls are forgotten after `keepEndedCalls`, histories are rings.
 *
 * Several service nodes: a call another node serves is mirrored here (`remote`), from its events (under
 * the serving node's call id) and from the room directory (`syncRemote`: who is in it, even before
 * anyone spoke). Its owner stores its history and anchors its audit chain; a remote call ends here
 * silently (no `callended`) when its room leaves the directory or opens a new call.
 */
import { randomUUID } from 'node:crypto';
import { TypedEmitter } from '../kernel/TypedEmitter.js';
import type { DfdEvent, VerdictEvent, ChallengeEvent, DecisionEvent, PhoneRef, ScoreEvent, ScoreChannel } from '../events/schema.js';
import { DEFAULT_TENANT } from '../kernel/tenant.js';
import { logit } from '../pipeline/verdict/EvidenceAccumulator.js';

export interface CallRegistryOptions {
  historyPerParticipant: number;
  challengesPerParticipant: number;
  keepEndedCalls: number;
  /** Events of a participant of a call that ended less than this ago still go to that call. */
  lateEventsMs: number;
  /** How long an emptied call waits for someone to (re)join before it ends. */
  endGraceMs: number;
  /** The tenant of calls whose room names none (DFD_DEFAULT_TENANT). */
  defaultTenant: string;
  /**
   * A room of another node whose call ended with people still in it (that node shut down or was lost)
   * and that opens here within this long: the new call `continues` that one.
   */
  moveLinkMs: number;
}

export const defaultCallRegistryOptions: CallRegistryOptions = {
  historyPerParticipant: 600,
  challengesPerParticipant: 50,
  keepEndedCalls: 200,
  lateEventsMs: 60_000,
  endGraceMs: 5_000,
  defaultTenant: DEFAULT_TENANT,
  moveLinkMs: 120_000,
};

export type CallRegistryEvents = {
  /** A call ended (last participant left, or its room closed). */
  callended: [call: CallRecord];
  /** An event was applied to a call that had already ended (e.g. a last verdict). */
  callupdated: [call: CallRecord];
};

export interface HistoryPoint {
  ts: string;
  kind: 'verdict' | 'score';
  /** For scores: the detector id; for verdicts: the state. */
  label: string;
  pFake: number;
  confidence?: number;
}

export interface ParticipantRecord {
  peerId: string;
  displayName: string;
  joinedAt: string;
  leftAt: string | undefined;
  verdict: VerdictEvent['payload'] | undefined;
  /** The models the latest verdict named, with windows scored and dropped under load. */
  verdictModels: VerdictEvent['models'];
  history: HistoryPoint[];
  challenges: { ts: string; challengeId: string; challengeType: string; phase: string; outcome?: string }[];
  decisions: { ts: string; decision: string; tagState: string; operator: string }[];
  /**
   * Call-level detector scores, from the participant's score events: per detector and channel, the
   * evidence-weighted mean log-odds of fake under the shipped calibration. A decision carries them
   * (the labelled call-level scores per-tenant calibration is refit from).
   */
  callScores: Map<string, CallScore>;
}

export interface CallScore {
  detector: string;
  channel: ScoreChannel;
  /** Evidence-weighted sum of the windows' shipped log-odds (clamped to +-MAX_CALL_LOG_ODDS). */
  sumLogOdds: number;
  evidence: number;
  windows: number;
}

/** The bound on one window's log-odds in a call score (a window cannot outweigh the call on its own). */
export const MAX_CALL_LOG_ODDS = 10;

/** A participant's call scores as a decision carries them (mean log-odds per detector and channel). */
export function callScoresOf(p: ParticipantRecord): { detector: string; channel: ScoreChannel; logOdds: number; evidence: number; windows: number }[] {
  return [...p.callScores.values()]
    .filter((c) => c.evidence > 0)
    .slice(0, 32)
    .map((c) => ({ detector: c.detector, channel: c.channel, logOdds: c.sumLogOdds / c.evidence, evidence: c.evidence, windows: c.windows }));
}

export interface CallRecord {
  callId: string;
  roomId: string;
  startedAt: string;
  endedAt: string | undefined;
  /** 'phone' once a participant sends plain RTP (a telephony gateway); else a meeting through the SFU. */
  kind: 'room' | 'phone';
  /** The tenant of the call's room. */
  tenant: string;
  /** How the phone call reached the service (platform, its call id, tenant), when it is one. */
  phone?: PhoneRef;
  participants: Map<string, ParticipantRecord>;
  /** Another service node serves the call (its id and URL once the room directory named them). */
  remote?: { node?: string; url?: string };
  /** The call of another node this one continues (the room moved here with people in it). */
  continues?: string;
}

export interface CallSummary {
  callId: string;
  roomId: string;
  startedAt: string;
  endedAt: string | undefined;
  participants: { peerId: string; displayName: string; present: boolean; state: string; pFake: number | null; confidence: number | null }[];
  /** The service node serving the call, when it is another one (several nodes). */
  node?: string;
  /** That node's URL. */
  nodeUrl?: string;
  /** The call of another node this one continues (the room moved here). */
  continues?: string;
}

/** A room of another service node, as the room directory describes it (cluster/RoomPlacement.ts). */
export interface RemoteRoom {
  node: string;
  url: string;
  tenant: string;
  callId: string;
  startedAt: string;
  participants: { peerId: string; displayName: string }[];
}

export class CallRegistry extends TypedEmitter<CallRegistryEvents> {
  readonly options: CallRegistryOptions;
  /** Current (open) call per room. */
  readonly #open = new Map<string, CallRecord>();
  /** Every known call by id, oldest first (Map keeps insertion order). */
  readonly #calls = new Map<string, CallRecord>();
  /** Pending ends of emptied calls, by call id. */
  readonly #ending = new Map<string, NodeJS.Timeout>();
  /** Rooms of other nodes whose call ended with people in it: the call and when (a move, if the room opens here). */
  readonly #cutOff = new Map<string, { callId: string; at: number }>();

  constructor(options: Partial<CallRegistryOptions> = {}) {
    super();
    this.options = { ...defaultCallRegistryOptions, ...options };
  }

  /** The open call of a room served here, started on first use (for `tenant`, default the default tenant). */
  callFor(roomId: string, tenant?: string): CallRecord {
    let call = this.#open.get(roomId);
    // The room was another node's and is served here now (that node went away): a new call of ours.
    if (call?.remote) {
      this.#end(call);
      call = undefined;
    }
    if (!call) {
      call = { callId: `c-${randomUUID().slice(0, 13)}`, roomId, startedAt: new Date().toISOString(), endedAt: undefined, kind: 'room', tenant: tenant ?? this.options.defaultTenant, participants: new Map() };
      const cut = this.#cutOff.get(roomId);
      this.#cutOff.delete(roomId);
      if (cut && Date.now() - cut.at <= this.options.moveLinkMs) call.continues = cut.callId;
      this.#open.set(roomId, call);
      this.#calls.set(call.callId, call);
      this.#trim();
    }
    return call;
  }

  peerJoined(roomId: string, peerId: string, displayName: string): void {
    const call = this.callFor(roomId);
    this.#cancelEnd(call);
    const p = this.#addParticipant(call, peerId, displayName);
    p.leftAt = undefined;
  }

  /** The participant's record in `call`, created when missing (an event may come before the join). */
  #addParticipant(call: CallRecord, peerId: string, displayName: string): ParticipantRecord {
    const existing = call.participants.get(peerId);
    if (existing) return existing;
    const p: ParticipantRecord = { peerId, displayName, joinedAt: new Date().toISOString(), leftAt: call.endedAt, verdict: undefined, verdictModels: [], history: [], challenges: [], decisions: [], callScores: new Map() };
    call.participants.set(peerId, p);
    return p;
  }

  peerLeft(roomId: string, peerId: string): void {
    const call = this.#open.get(roomId);
    const p = call?.participants.get(peerId);
    if (!call || !p) return;
    p.leftAt = new Date().toISOString();
    if (![...call.participants.values()].every((x) => x.leftAt !== undefined)) return;
    if (this.options.endGraceMs <= 0) return this.#end(call);
    this.#cancelEnd(call);
    const t = setTimeout(() => {
      this.#ending.delete(call.callId);
      if (this.#open.get(call.roomId) === call && [...call.participants.values()].every((x) => x.leftAt !== undefined)) this.#end(call);
    }, this.options.endGraceMs);
    t.unref();
    this.#ending.set(call.callId, t);
  }

  #cancelEnd(call: CallRecord): void {
    const t = this.#ending.get(call.callId);
    if (t) clearTimeout(t);
    this.#ending.delete(call.callId);
  }

  /**
   * Marks the call of a participant who comes in over a telephony path (plain RTP, a phone
   * ingest) as a phone call: the call they are in, or the room's open call they are joining.
   */
  markPhone(roomId: string, peerId: string, phone?: PhoneRef): void {
    const call = this.callForPeer(roomId, peerId);
    call.kind = 'phone';
    if (phone) call.phone = phone;
  }

  roomClosed(roomId: string): void {
    const call = this.#open.get(roomId);
    if (call) this.#end(call);
  }

  /**
   * Ends every open call now, including emptied calls still in their end grace (shutdown: each
   * gets its `callended`, so its summary is written while the store can still write).
   * Returns how many ended.
   */
  endAll(): number {
    const open = [...this.#open.values()];
    for (const call of open) this.#end(call);
    return open.length;
  }

  #end(call: CallRecord): void {
    this.#cancelEnd(call);
    // Another node's call that ends with people in it: its room may come here (a move).
    if (call.remote && call.endedAt === undefined && [...call.participants.values()].some((p) => p.leftAt === undefined)) {
      this.#cutOff.delete(call.roomId);
      this.#cutOff.set(call.roomId, { callId: call.callId, at: Date.now() });
      if (this.#cutOff.size > 1000) this.#cutOff.delete(this.#cutOff.keys().next().value!);
    }
    call.endedAt = new Date().toISOString();
    for (const p of call.participants.values()) p.leftAt ??= call.endedAt;
    if (this.#open.get(call.roomId) === call) this.#open.delete(call.roomId);
    this.#trim();
    // Its owner stores a remote call's history and anchors its chain.
    if (!call.remote) this.safeEmit('callended', call);
  }

  /**
   * The call a participant's event belongs to: the room's open call when the participant is in
   * it; else the most recent call of the room the participant was in, if it ended less than
   * `lateEventsMs` ago (a verdict after leaving) or if the room has no open call (a late event
   * never reopens a room's call); else the room's open call, started when there is none.
   */
  callForPeer(roomId: string, peerId: string): CallRecord {
    const open = this.#open.get(roomId);
    if (open?.participants.has(peerId)) return open;
    const now = Date.now();
    for (const call of [...this.#calls.values()].reverse()) {
      if (call.roomId !== roomId || call.endedAt === undefined || !call.participants.has(peerId)) continue;
      if (!open || now - Date.parse(call.endedAt) <= this.options.lateEventsMs) return call;
      break;
    }
    return this.callFor(roomId);
  }

  /** Every call still held (open and recently ended), oldest first. */
  calls(): CallRecord[] {
    return [...this.#calls.values()];
  }

  /**
   * Applies one event from the bus. Unknown rooms/peers are created (events may arrive first).
   * `elsewhere`: another service node published it (its call is mirrored under the event's call id).
   */
  apply(event: DfdEvent, elsewhere = false): void {
    const call = (event.callId && this.#calls.get(event.callId)) || (elsewhere && event.callId ? this.#remoteCall(event.roomId, event.callId, event.tenant) : this.callFor(event.roomId, event.tenant));
    const p = this.#addParticipant(call, event.peerId, event.displayName);
    switch (event.type) {
      case 'verdict':
        p.verdict = event.payload;
        p.verdictModels = event.models;
        this.#push(p.history, { ts: event.ts, kind: 'verdict', label: event.payload.state, pFake: event.payload.pFake, confidence: event.payload.confidence }, this.options.historyPerParticipant);
        break;
      case 'score':
        this.#push(p.history, { ts: event.ts, kind: 'score', label: event.payload.detector, pFake: event.payload.pFake }, this.options.historyPerParticipant);
        this.#addCallScore(p, event.payload);
        break;
      case 'challenge': {
        const c = (event as ChallengeEvent).payload;
        this.#push(p.challenges, { ts: event.ts, challengeId: c.challengeId, challengeType: c.challengeType, phase: c.phase, ...(c.outcome ? { outcome: c.outcome } : {}) }, this.options.challengesPerParticipant);
        break;
      }
      case 'decision': {
        const d = (event as DecisionEvent).payload;
        this.#push(p.decisions, { ts: event.ts, decision: d.decision, tagState: d.tagState, operator: d.operator }, this.options.challengesPerParticipant);
        break;
      }
      case 'quality':
        break;
    }
    if (call.endedAt !== undefined && event.type !== 'quality' && !call.remote) this.safeEmit('callupdated', call);
  }

  /** The mirror of another node's call `callId` in `roomId`, created (and made the room's open call) when new. */
  #remoteCall(roomId: string, callId: string, tenant: string | undefined, startedAt?: string): CallRecord {
    let call = this.#calls.get(callId);
    if (!call) {
      call = { callId, roomId, startedAt: startedAt ?? new Date().toISOString(), endedAt: undefined, kind: 'room', tenant: tenant ?? this.options.defaultTenant, participants: new Map(), remote: {} };
      this.#calls.set(callId, call);
      const open = this.#open.get(roomId);
      // A newer call of a room mirrored here replaces the old one; a call served here stays the room's open call.
      if (open?.remote) this.#end(open);
      if (!this.#open.has(roomId)) this.#open.set(roomId, call);
      this.#trim();
    }
    return call;
  }

  /**
   * The room directory's view of a room another node serves (undefined: the room is gone there). Its
   * call is mirrored with who is in it now: a participant listed is present, one no longer listed left.
   * A room served here is left alone.
   */
  syncRemote(roomId: string, room: RemoteRoom | undefined): void {
    const open = this.#open.get(roomId);
    if (!room) {
      if (open?.remote) this.#end(open);
      return;
    }
    if (open && !open.remote) return;
    const call = this.#remoteCall(roomId, room.callId, room.tenant, room.startedAt);
    if (call.endedAt !== undefined) return;
    call.remote = { node: room.node, url: room.url };
    const present = new Set<string>();
    for (const { peerId, displayName } of room.participants) {
      present.add(peerId);
      const p = this.#addParticipant(call, peerId, displayName);
      p.leftAt = undefined;
    }
    const now = new Date().toISOString();
    for (const p of call.participants.values()) if (!present.has(p.peerId)) p.leftAt ??= now;
  }

  openCalls(): CallRecord[] {
    return [...this.#open.values()];
  }

  call(callId: string): CallRecord | undefined {
    return this.#calls.get(callId);
  }

  openCall(roomId: string): CallRecord | undefined {
    return this.#open.get(roomId);
  }

  participant(roomId: string, peerId: string): ParticipantRecord | undefined {
    return this.#open.get(roomId)?.participants.get(peerId);
  }

  summary(call: CallRecord): CallSummary {
    return {
      callId: call.callId,
      roomId: call.roomId,
      startedAt: call.startedAt,
      endedAt: call.endedAt,
      participants: [...call.participants.values()].map((p) => ({
        peerId: p.peerId,
        displayName: p.displayName,
        present: p.leftAt === undefined,
        state: p.verdict?.state ?? 'collecting',
        pFake: p.verdict?.pFake ?? null,
        confidence: p.verdict?.confidence ?? null,
      })),
      ...(call.remote?.node ? { node: call.remote.node, nodeUrl: call.remote.url } : {}),
      ...(call.continues ? { continues: call.continues } : {}),
    };
  }

  /** Adds a window to the participant's call score (the shipped calibration's pFake; a score without its channel is not placed). */
  #addCallScore(p: ParticipantRecord, s: ScoreEvent['payload']): void {
    if (!s.channel || !(s.evidence > 0)) return;
    const k = `${s.detector}|${s.channel}`;
    let c = p.callScores.get(k);
    if (!c) {
      if (p.callScores.size >= 32) return;
      p.callScores.set(k, (c = { detector: s.detector, channel: s.channel, sumLogOdds: 0, evidence: 0, windows: 0 }));
    }
    const z = Math.max(-MAX_CALL_LOG_ODDS, Math.min(MAX_CALL_LOG_ODDS, logit(s.tenantCalibration?.shippedPFake ?? s.pFake)));
    c.sumLogOdds += s.evidence * z;
    c.evidence += s.evidence;
    c.windows++;
  }

  #push<T>(ring: T[], item: T, max: number): void {
    ring.push(item);
    if (ring.length > max) ring.splice(0, ring.length - max);
  }

  #trim(): void {
    let ended = [...this.#calls.values()].filter((c) => c.endedAt !== undefined);
    while (ended.length > this.options.keepEndedCalls) {
      this.#calls.delete(ended[0]!.callId);
      ended = ended.slice(1);
    }
  }
}
