/**
 * One call in the call history (`GET /v1/calls`): who took part, their final verdict states,
 * challenges and their outcomes, operator decisions, times. Built from the CallRegistry's
 * record of a call and stored in the DFD_CALLS bucket when the call ends, so it outlives a
 * restart. The schema checks what is read back from NATS; the type is the wire type
 * (api/historyWire.ts), which the schema must match exactly (checked at compile time below).
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { VERDICT_STATES, type VerdictState } from '../events/schema.js';
import { TENANT_PATTERN } from '../kernel/tenant.js';
import type { CallRecord } from './CallRegistry.js';
import type { HistoryEntry } from './historyWire.js';

export type { HistoryEntry };

const Token = Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' });
const Ts = Type.String({ maxLength: 40 });
const State = Type.Union(VERDICT_STATES.map((s) => Type.Literal(s)));

export const HistoryEntrySchema = Type.Object({
  callId: Token,
  roomId: Token,
  kind: Type.Union([Type.Literal('room'), Type.Literal('phone')]),
  tenant: Type.Optional(Type.String({ pattern: TENANT_PATTERN })),
  phone: Type.Optional(
    Type.Object({
      platform: Type.Union([Type.Literal('twilio'), Type.Literal('audiohook'), Type.Literal('sip'), Type.Literal('rtp')]),
      platformCallId: Type.Optional(Type.String({ maxLength: 128 })),
      tenant: Type.Optional(Type.String({ maxLength: 32 })),
    }),
  ),
  continues: Type.Optional(Token),
  live: Type.Boolean(),
  startedAt: Ts,
  endedAt: Type.Union([Ts, Type.Null()]),
  durationSec: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
  participants: Type.Array(
    Type.Object({
      peerId: Token,
      displayName: Type.String({ maxLength: 256 }),
      joinedAt: Ts,
      leftAt: Type.Union([Ts, Type.Null()]),
      finalState: State,
      pFake: Type.Union([Type.Number(), Type.Null()]),
      confidence: Type.Union([Type.Number(), Type.Null()]),
      reason: Type.Union([Type.String({ maxLength: 500 }), Type.Null()]),
      dropped: Type.Optional(Type.Integer({ minimum: 0 })),
      droppedSpeaker: Type.Optional(Type.Integer({ minimum: 0 })),
    }),
    { maxItems: 1000 },
  ),
  /** The most alarming final state of any participant (deepfake-likely > suspicious > collecting > likely-genuine > verified). */
  worstState: State,
  challenges: Type.Object({ total: Type.Integer({ minimum: 0 }), passed: Type.Integer({ minimum: 0 }), failed: Type.Integer({ minimum: 0 }), other: Type.Integer({ minimum: 0 }) }),
  decisions: Type.Array(
    Type.Object({ ts: Ts, peerId: Token, displayName: Type.String({ maxLength: 256 }), decision: Type.String({ maxLength: 32 }), tagState: Type.String({ maxLength: 64 }), operator: Type.String({ maxLength: 128 }) }),
    { maxItems: 1000 },
  ),
});

/** True when A and B are the same type, optional properties included (plain mutual assignability would miss one). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
/** Fails to compile when the schema and the wire type drift apart. */
const _schemaMatchesWire: Same<Static<typeof HistoryEntrySchema>, HistoryEntry> = true;

const check = TypeCompiler.Compile(HistoryEntrySchema);

export function parseHistoryEntry(value: unknown): HistoryEntry | undefined {
  return check.Check(value) ? value : undefined;
}

const SEVERITY: Record<VerdictState, number> = { 'deepfake-likely': 4, suspicious: 3, collecting: 2, 'likely-genuine': 1, verified: 0 };

export function worstState(states: readonly VerdictState[]): VerdictState {
  let worst: VerdictState = 'collecting';
  let rank = -1;
  for (const s of states) {
    if (SEVERITY[s] > rank) {
      worst = s;
      rank = SEVERITY[s];
    }
  }
  return worst;
}

/** Challenges of a call counted once each, by final outcome ('other': cancelled, unclear, timed out, still running). */
function countChallenges(call: CallRecord): HistoryEntry['challenges'] {
  const last = new Map<string, { phase: string; outcome?: string }>();
  for (const p of call.participants.values()) for (const c of p.challenges) last.set(`${p.peerId}/${c.challengeId}`, c);
  let passed = 0;
  let failed = 0;
  for (const c of last.values()) {
    if (c.outcome === 'passed') passed++;
    else if (c.outcome === 'failed' || c.outcome === 'non-compliant') failed++;
  }
  return { total: last.size, passed, failed, other: last.size - passed - failed };
}

export function historyEntry(call: CallRecord, now: number = Date.now()): HistoryEntry {
  const participants = [...call.participants.values()].map((p) => {
    const dropped = p.verdictModels.reduce((a, m) => a + (m.dropped ?? 0), 0);
    const droppedSpeaker = p.verdictModels.reduce((a, m) => a + (m.task === 'speaker-embed' ? (m.dropped ?? 0) : 0), 0);
    return {
      peerId: p.peerId,
      displayName: p.displayName,
      joinedAt: p.joinedAt,
      leftAt: p.leftAt ?? null,
      finalState: p.verdict?.state ?? 'collecting',
      pFake: p.verdict?.pFake ?? null,
      confidence: p.verdict?.confidence ?? null,
      reason: p.verdict?.reason ?? null,
      ...(dropped > 0 ? { dropped } : {}),
      ...(droppedSpeaker > 0 ? { droppedSpeaker } : {}),
    };
  });
  // A room's call record can exist before anyone joins (room opened): the call starts with its first participant.
  const startedAt = participants.reduce((min, p) => (p.joinedAt < min ? p.joinedAt : min), participants[0]?.joinedAt ?? call.startedAt);
  const end = call.endedAt ? Date.parse(call.endedAt) : now;
  const decisions = [...call.participants.values()]
    .flatMap((p) => p.decisions.map((d) => ({ ts: d.ts, peerId: p.peerId, displayName: p.displayName, decision: d.decision, tagState: d.tagState, operator: d.operator })))
    .sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  return {
    callId: call.callId,
    roomId: call.roomId,
    kind: call.kind,
    tenant: call.tenant,
    ...(call.phone ? { phone: { ...call.phone } } : {}),
    ...(call.continues ? { continues: call.continues } : {}),
    live: call.endedAt === undefined,
    startedAt,
    endedAt: call.endedAt ?? null,
    durationSec: Math.max(0, Math.round((end - Date.parse(startedAt)) / 100) / 10),
    participants,
    worstState: worstState(participants.map((p) => p.finalState)),
    challenges: countChallenges(call),
    decisions,
  };
}
