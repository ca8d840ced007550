/**
 * What the dashboard receives over the wire: call summaries (`GET /v1/rooms`, SSE
 * `snapshot`) and events (SSE `verdict`, `score`, `challenge`, `decision`). Mirrors
 * `api/CallRegistry.ts` and `events/schema.ts` structurally (the browser bundle cannot
 * import server modules; the verdict machine, which has no server dependency, is the one
 * exception: its states and thresholds are used as they are); `parseWireEvent` checks every field it uses, since the data
 * comes from the network.
 */

import { VerdictStates, type VerdictState } from '../../pipeline/verdict/VerdictMachine.js';
import { displayStyles } from './verdictDisplay.js';
import { parseModelCoverage, type ModelCoverage } from './modelCoverage.js';
import type { ChallengeBasis } from '../../api/historyWire.js';

export const VERDICT_STATES = VerdictStates;
export type { VerdictState };

/**
 * Per-state wording and colour, taken from the one shared mapping (`verdictDisplay.ts`).
 * They ignore confidence: to show a verdict, use `describeVerdict`, which shows weak
 * evidence as "Not enough evidence yet".
 */
export const stateLabels: Record<VerdictState, string> = Object.fromEntries(VERDICT_STATES.map((s) => [s, displayStyles[s].label])) as Record<VerdictState, string>;
export const stateColours: Record<VerdictState, string> = Object.fromEntries(VERDICT_STATES.map((s) => [s, displayStyles[s].colour])) as Record<VerdictState, string>;

export function isVerdictState(v: unknown): v is VerdictState {
  return typeof v === 'string' && (VERDICT_STATES as readonly string[]).includes(v);
}

export interface CallSummary {
  callId: string;
  roomId: string;
  startedAt: string;
  endedAt?: string | undefined;
  participants: { peerId: string; displayName: string; present: boolean; state: string; pFake: number | null; confidence: number | null }[];
  /** The service node serving the call when it is another one (several nodes): actions are forwarded there. */
  node?: string | undefined;
}

/** `GET /v1/rooms/:room/participants/:peer` (the registry's participant record). */
export interface ParticipantRecord {
  peerId: string;
  displayName: string;
  history: { ts: string; kind: 'verdict' | 'score'; label: string; pFake: number; confidence?: number }[];
  challenges: { ts: string; challengeId: string; challengeType: string; phase: string; outcome?: string }[];
  decisions: { ts: string; decision: string; tagState: string; operator: string }[];
}

/** Cumulative evidence a verdict rests on (verdict events carry it). */
export interface Evidence {
  speechSeconds: number;
  faceFrames: number;
}

interface Envelope {
  id: string;
  roomId: string;
  peerId: string;
  callId?: string | undefined;
  displayName: string;
  ts: string;
}

export type WireEvent =
  | (Envelope & { type: 'verdict'; payload: { state: VerdictState; pFake: number; confidence: number; reason?: string | undefined; evidence?: Evidence | undefined }; models?: ModelCoverage[] | undefined })
  | (Envelope & { type: 'score'; payload: { detector: string; pFake: number; weight?: number | undefined } })
  | (Envelope & {
      type: 'challenge';
      payload: {
        challengeId: string;
        challengeType: string;
        modality: string;
        phase: string;
        outcome?: string | undefined;
        promptText?: string | undefined;
        /** "agent": the agent on the call is to ask the caller (a phone platform that cannot play audio). */
        deliveredTo?: string | undefined;
        /** What started it: suspicious, weak-evidence, spot-check, operator (phase "issued"). */
        trigger?: string | undefined;
        /** A weak-evidence challenge's fused pFake, the threshold it reached, and whose (wideband or telephone). */
        basis?: ChallengeBasis | undefined;
      };
    })
  | (Envelope & { type: 'decision'; payload: { decision: string; tagState: string; operator: string; note?: string | undefined } });

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown, max = 256): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isProb = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
const optStr = (v: unknown, max: number): string | undefined => (typeof v === 'string' && v.length <= max ? v : undefined);

/** A challenge event's `basis`, or undefined when absent or malformed (the live feed and the call history). */
export function parseChallengeBasis(v: unknown): ChallengeBasis | undefined {
  if (!isObj(v) || !isProb(v['pFake']) || !isProb(v['threshold'])) return undefined;
  return { pFake: v['pFake'], threshold: v['threshold'], family: optStr(v['family'], 32) ?? 'wideband' };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** The verdict's evidence, or undefined when absent or malformed. */
export function parseEvidence(v: unknown): Evidence | undefined {
  if (!isObj(v) || !isCount(v['speechSeconds']) || !isCount(v['faceFrames'])) return undefined;
  return { speechSeconds: v['speechSeconds'], faceFrames: v['faceFrames'] };
}

/** Returns a typed event, or undefined for anything malformed or of a type the dashboard does not show. */
export function parseWireEvent(value: unknown): WireEvent | undefined {
  if (!isObj(value) || !isObj(value['payload'])) return undefined;
  const { id, roomId, peerId, ts, type } = value;
  if (!isStr(id) || !isStr(roomId, 128) || !isStr(peerId, 128) || !isStr(ts, 64) || Number.isNaN(Date.parse(ts))) return undefined;
  const env: Envelope = {
    id,
    roomId,
    peerId,
    ts,
    displayName: typeof value['displayName'] === 'string' ? value['displayName'].slice(0, 256) : peerId,
    callId: optStr(value['callId'], 128),
  };
  const p = value['payload'];
  switch (type) {
    case 'verdict':
      if (!isVerdictState(p['state']) || !isProb(p['pFake']) || !isProb(p['confidence'])) return undefined;
      return { ...env, type, payload: { state: p['state'], pFake: p['pFake'], confidence: p['confidence'], reason: optStr(p['reason'], 500), evidence: parseEvidence(p['evidence']) }, models: parseModelCoverage(value['models']) };
    case 'score':
      if (!isStr(p['detector'], 128) || !isProb(p['pFake'])) return undefined;
      return { ...env, type, payload: { detector: p['detector'], pFake: p['pFake'], weight: isProb(p['weight']) ? p['weight'] : undefined } };
    case 'challenge':
      if (!isStr(p['challengeId'], 128) || !isStr(p['challengeType'], 64) || !isStr(p['phase'], 32)) return undefined;
      return {
        ...env,
        type,
        payload: {
          challengeId: p['challengeId'],
          challengeType: p['challengeType'],
          modality: optStr(p['modality'], 32) ?? 'audio',
          phase: p['phase'],
          outcome: optStr(p['outcome'], 32),
          promptText: optStr(p['promptText'], 500),
          deliveredTo: optStr(p['deliveredTo'], 32),
          trigger: optStr(p['trigger'], 32),
          basis: parseChallengeBasis(p['basis']),
        },
      };
    case 'decision':
      if (!isStr(p['decision'], 32) || !isStr(p['operator'], 128)) return undefined;
      return { ...env, type, payload: { decision: p['decision'], tagState: optStr(p['tagState'], 64) ?? 'collecting', operator: p['operator'], note: optStr(p['note'], 2000) } };
    default:
      return undefined;
  }
}

export function parseCallSummary(value: unknown): CallSummary | undefined {
  if (!isObj(value) || !isStr(value['roomId'], 128) || !isStr(value['callId'], 128) || !Array.isArray(value['participants'])) return undefined;
  const participants: CallSummary['participants'] = [];
  for (const p of value['participants']) {
    if (!isObj(p) || !isStr(p['peerId'], 128)) continue;
    participants.push({
      peerId: p['peerId'],
      displayName: typeof p['displayName'] === 'string' ? p['displayName'].slice(0, 256) : p['peerId'],
      present: p['present'] !== false,
      state: typeof p['state'] === 'string' ? p['state'] : 'collecting',
      pFake: isProb(p['pFake']) ? p['pFake'] : null,
      confidence: isProb(p['confidence']) ? p['confidence'] : null,
    });
  }
  return {
    callId: value['callId'],
    roomId: value['roomId'],
    startedAt: typeof value['startedAt'] === 'string' ? value['startedAt'] : new Date(0).toISOString(),
    endedAt: optStr(value['endedAt'], 64),
    participants,
    node: optStr(value['node'], 128),
  };
}
