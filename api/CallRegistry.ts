/**
 * The API's read model: rooms, their current call, participants, each participant's
 * latest verdict and a bounded history of verdicts, scores and challenges for charts.
 * Fed by SFU membership (join/leave) and by the events the pipeline publishes.
 * Bounded: ended calls are forgotten after `keepEndedCalls`, histories are rings.
 */
import { randomUUID } from 'node:crypto';
import type { DfdEvent, VerdictEvent, ChallengeEvent, DecisionEvent } from '../events/schema.js';

export interface CallRegistryOptions {
  historyPerParticipant: number;
  challengesPerParticipant: number;
  keepEndedCalls: number;
}

export const defaultCallRegistryOptions: CallRegistryOptions = {
  historyPerParticipant: 600,
  challengesPerParticipant: 50,
  keepEndedCalls: 200,
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
  history: HistoryPoint[];
  challenges: { ts: string; challengeId: string; challengeType: string; phase: string; outcome?: string }[];
  decisions: { ts: string; decision: string; tagState: string; operator: string }[];
}

export interface CallRecord {
  callId: string;
  roomId: string;
  startedAt: string;
  endedAt: string | undefined;
  participants: Map<string, ParticipantRecord>;
}

export interface CallSummary {
  callId: string;
  roomId: string;
  startedAt: string;
  endedAt: string | undefined;
  participants: { peerId: string; displayName: string; present: boolean; state: string; pFake: number | null; confidence: number | null }[];
}

export class CallRegistry {
  readonly options: CallRegistryOptions;
  /** Current (open) call per room. */
  readonly #open = new Map<string, CallRecord>();
  /** Every known call by id, oldest first (Map keeps insertion order). */
  readonly #calls = new Map<string, CallRecord>();

  constructor(options: Partial<CallRegistryOptions> = {}) {
    this.options = { ...defaultCallRegistryOptions, ...options };
  }

  /** The open call of a room, started on first use. */
  callFor(roomId: string): CallRecord {
    let call = this.#open.get(roomId);
    if (!call) {
      call = { callId: `c-${randomUUID().slice(0, 13)}`, roomId, startedAt: new Date().toISOString(), endedAt: undefined, participants: new Map() };
      this.#open.set(roomId, call);
      this.#calls.set(call.callId, call);
      this.#trim();
    }
    return call;
  }

  peerJoined(roomId: string, peerId: string, displayName: string): void {
    const call = this.callFor(roomId);
    const existing = call.participants.get(peerId);
    if (existing) {
      existing.leftAt = undefined;
      return;
    }
    call.participants.set(peerId, { peerId, displayName, joinedAt: new Date().toISOString(), leftAt: undefined, verdict: undefined, history: [], challenges: [], decisions: [] });
  }

  peerLeft(roomId: string, peerId: string): void {
    const p = this.#open.get(roomId)?.participants.get(peerId);
    if (p) p.leftAt = new Date().toISOString();
  }

  roomClosed(roomId: string): void {
    const call = this.#open.get(roomId);
    if (!call) return;
    call.endedAt = new Date().toISOString();
    for (const p of call.participants.values()) p.leftAt ??= call.endedAt;
    this.#open.delete(roomId);
  }

  /** Applies one event from the bus. Unknown rooms/peers are created (events may arrive first). */
  apply(event: DfdEvent): void {
    const call = (event.callId && this.#calls.get(event.callId)) || this.callFor(event.roomId);
    let p = call.participants.get(event.peerId);
    if (!p) {
      this.peerJoined(call.roomId, event.peerId, event.displayName);
      p = call.participants.get(event.peerId)!;
    }
    switch (event.type) {
      case 'verdict':
        p.verdict = event.payload;
        this.#push(p.history, { ts: event.ts, kind: 'verdict', label: event.payload.state, pFake: event.payload.pFake, confidence: event.payload.confidence }, this.options.historyPerParticipant);
        break;
      case 'score':
        this.#push(p.history, { ts: event.ts, kind: 'score', label: event.payload.detector, pFake: event.payload.pFake }, this.options.historyPerParticipant);
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
    };
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
