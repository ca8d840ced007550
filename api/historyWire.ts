/**
 * The call history on the wire: what `GET /v1/calls` (a CallList of HistoryEntry) and
 * `GET /v1/calls/{id}` (a CallDetail) send. One definition for both ends: the server builds
 * these (api/HistoryEntry.ts, api/callDetail.ts, api/CallHistory.ts) and the dashboard's
 * browser bundle reads them (dashboard/web/historyApi.ts, which still checks every field it
 * renders, since they come from the network).
 *
 * Types only, and no runtime import: the browser bundle compiles this file (tsconfig.web.json),
 * so it must not reach node-only modules. The verdict machine, which has no server dependency,
 * is the one module it names.
 */
import type { VerdictState } from '../pipeline/verdict/VerdictMachine.js';

/** One participant of a call, with their final verdict. */
export interface HistoryParticipant {
  peerId: string;
  displayName: string;
  joinedAt: string;
  leftAt: string | null;
  finalState: VerdictState;
  pFake: number | null;
  confidence: number | null;
  reason: string | null;
  /**
   * Windows dropped under load, over all models, by the participant's last verdict: the service
   * thinned their analysis. Absent when none (and in summaries stored before it was recorded).
   */
  dropped?: number;
  /**
   * Of `dropped`, the speaker model's windows (task speaker-embed): the takeover check saw less of
   * the call, the verdict's evidence did not shrink. Absent when none, and in summaries stored
   * before it was recorded (their `dropped` then reads as the verdict's own).
   */
  droppedSpeaker?: number;
}

/** An operator decision in a call's summary (who it was about, who made it). */
export interface HistoryDecision {
  ts: string;
  peerId: string;
  displayName: string;
  decision: string;
  tagState: string;
  operator: string;
}

/** One call in the call history (`GET /v1/calls`); api/HistoryEntry.ts holds its schema. */
export interface HistoryEntry {
  callId: string;
  roomId: string;
  kind: 'room' | 'phone';
  /** The tenant the call belongs to (absent in summaries stored before tenants existed). */
  tenant?: string;
  /** How a phone call reached the service: platform (twilio, audiohook, rtp), its own call id, the tenant. */
  phone?: { platform: 'twilio' | 'audiohook' | 'sip' | 'rtp'; platformCallId?: string; tenant?: string };
  /** The call this one continues: its room moved here from another service node that shut down or was lost. */
  continues?: string;
  live: boolean;
  startedAt: string;
  endedAt: string | null;
  durationSec: number | null;
  participants: HistoryParticipant[];
  /** The most alarming final state of any participant (deepfake-likely > suspicious > collecting > likely-genuine > verified). */
  worstState: VerdictState;
  challenges: { total: number; passed: number; failed: number; other: number };
  decisions: HistoryDecision[];
}

/** `GET /v1/calls`: one page of the calls that match the filters. */
export interface CallList {
  calls: HistoryEntry[];
  /** Calls matching the filters (before limit/offset). */
  total: number;
  limit: number;
  offset: number;
}

/** A point of a participant's timeline in a call's detail: a verdict or a detector score. */
export type DetailPoint =
  | { ts: string; kind: 'verdict'; state: string; pFake: number; confidence: number; reason?: string }
  | { ts: string; kind: 'score'; detector: string; pFake: number; weight?: number };

/** What a weak-evidence challenge acted on (its `issued` event's basis): fused pFake, the threshold it reached, whose. */
export interface ChallengeBasis {
  pFake: number;
  threshold: number;
  family: string;
}

export interface ChallengeDetail {
  challengeId: string;
  challengeType: string;
  modality: string;
  trigger: string | null;
  basis: ChallengeBasis | null;
  promptText: string | null;
  side: string | null;
  issuedAt: string | null;
  endedAt: string | null;
  /** Final outcome ('cancelled' when cancelled; null while running). */
  outcome: string | null;
  reason: string | null;
  measurements: Record<string, number>;
  phases: { phase: string; ts: string }[];
}

/** An operator decision in a participant's detail. */
export interface DecisionDetail {
  ts: string;
  decision: string;
  tagState: string;
  operator: string;
  note: string | null;
}

/**
 * One model that analysed a participant, as their last verdict named it: windows it scored and
 * windows of it dropped under load (0 when the verdict said none). The live dashboard reads the
 * same list from verdict events (dashboard/web/modelCoverage.ts).
 */
export interface ModelCoverage {
  id: string;
  version: string;
  /** The manifest's task, when the verdict named it (verdicts from before it did not). */
  task?: string;
  windows: number;
  dropped: number;
}

export interface ParticipantDetail extends HistoryParticipant {
  /** The models the participant's last verdict named ([] before any verdict, or when it named none). */
  models: ModelCoverage[];
  timeline: DetailPoint[];
  challenges: ChallengeDetail[];
  decisions: DecisionDetail[];
}

/** `GET /v1/calls/{id}`: the call's history entry plus, per participant, its timeline, challenges and decisions. */
export interface CallDetail extends Omit<HistoryEntry, 'participants'> {
  /** 'audit-trail': every stored event of the call; 'memory': the registry's recent history only. */
  source: 'audit-trail' | 'memory';
  events: number;
  participants: ParticipantDetail[];
}
