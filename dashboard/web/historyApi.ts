/**
 * The call-history REST calls of the dashboard's history pages (`GET /v1/calls`,
 * `GET /v1/calls/{id}`, `GET /v1/calls/{id}/evidence`), same-origin with the cookie session.
 * The types are the server's own (`api/historyWire.ts`: types only, no runtime import, so the
 * browser bundle may use it); the values are checked here field by field, since they come from
 * the network.
 * Failures are `ApiError`s with the API's stable code.
 */
import type { CallDetail, CallList, ChallengeDetail, DecisionDetail, DetailPoint, HistoryDecision, HistoryEntry, HistoryParticipant, ParticipantDetail } from '../../api/historyWire.js';
import { ApiError } from './api.js';
import { parseModelCoverage } from './modelCoverage.js';
import { isVerdictState, parseChallengeBasis } from './types.js';

export type { CallDetail, CallList, ChallengeDetail, DecisionDetail, DetailPoint, HistoryDecision, HistoryEntry, HistoryParticipant, ParticipantDetail };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function participant(v: unknown): HistoryParticipant | undefined {
  if (!isObj(v) || typeof v['peerId'] !== 'string') return undefined;
  return {
    peerId: v['peerId'],
    displayName: str(v['displayName']) || v['peerId'],
    joinedAt: str(v['joinedAt']),
    leftAt: strOrNull(v['leftAt']),
    finalState: isVerdictState(v['finalState']) ? v['finalState'] : 'collecting',
    pFake: numOrNull(v['pFake']),
    confidence: numOrNull(v['confidence']),
    reason: strOrNull(v['reason']),
    ...(isCount(v['dropped']) && v['dropped'] > 0 ? { dropped: v['dropped'] } : {}),
    ...(isCount(v['droppedSpeaker']) && v['droppedSpeaker'] > 0 ? { droppedSpeaker: v['droppedSpeaker'] } : {}),
  };
}

/** A decision of a call's summary or of a participant's detail: one reading serves both. */
function decision(v: unknown): (HistoryDecision & DecisionDetail) | undefined {
  if (!isObj(v) || typeof v['decision'] !== 'string') return undefined;
  return { ts: str(v['ts']), peerId: str(v['peerId']), displayName: str(v['displayName']), decision: v['decision'], tagState: str(v['tagState']), operator: str(v['operator']), note: strOrNull(v['note']) };
}

const PLATFORMS = ['twilio', 'audiohook', 'sip', 'rtp'] as const;

function phoneOf(v: unknown): Pick<HistoryEntry, 'phone'> {
  if (!isObj(v)) return {};
  const platform = PLATFORMS.find((p) => p === v['platform']);
  if (!platform) return {};
  const id = v['platformCallId'];
  const tenant = v['tenant'];
  return { phone: { platform, ...(typeof id === 'string' ? { platformCallId: id.slice(0, 128) } : {}), ...(typeof tenant === 'string' ? { tenant: tenant.slice(0, 32) } : {}) } };
}

export function parseHistoryEntry(v: unknown): HistoryEntry | undefined {
  if (!isObj(v) || typeof v['callId'] !== 'string' || typeof v['roomId'] !== 'string') return undefined;
  const c = isObj(v['challenges']) ? v['challenges'] : {};
  return {
    callId: v['callId'],
    roomId: v['roomId'],
    kind: v['kind'] === 'phone' ? 'phone' : 'room',
    ...(typeof v['tenant'] === 'string' ? { tenant: v['tenant'].slice(0, 32) } : {}),
    ...phoneOf(v['phone']),
    live: v['live'] === true,
    startedAt: str(v['startedAt']),
    endedAt: strOrNull(v['endedAt']),
    durationSec: numOrNull(v['durationSec']),
    participants: arr(v['participants']).map(participant).filter((p): p is HistoryParticipant => p !== undefined),
    worstState: isVerdictState(v['worstState']) ? v['worstState'] : 'collecting',
    challenges: { total: num(c['total']), passed: num(c['passed']), failed: num(c['failed']), other: num(c['other']) },
    decisions: arr(v['decisions']).map(decision).filter((d): d is HistoryDecision & DecisionDetail => d !== undefined),
  };
}

function point(v: unknown): DetailPoint | undefined {
  if (!isObj(v) || typeof v['ts'] !== 'string' || typeof v['pFake'] !== 'number') return undefined;
  if (v['kind'] === 'verdict') return { ts: v['ts'], kind: 'verdict', state: str(v['state']), pFake: v['pFake'], confidence: num(v['confidence']), ...(typeof v['reason'] === 'string' ? { reason: v['reason'] } : {}) };
  if (v['kind'] === 'score') return { ts: v['ts'], kind: 'score', detector: str(v['detector']) || 'detector', pFake: v['pFake'], ...(typeof v['weight'] === 'number' ? { weight: v['weight'] } : {}) };
  return undefined;
}

function challenge(v: unknown): ChallengeDetail | undefined {
  if (!isObj(v) || typeof v['challengeId'] !== 'string') return undefined;
  const m = isObj(v['measurements']) ? v['measurements'] : {};
  return {
    challengeId: v['challengeId'],
    challengeType: str(v['challengeType']),
    modality: str(v['modality']),
    trigger: strOrNull(v['trigger']),
    basis: parseChallengeBasis(v['basis']) ?? null,
    promptText: strOrNull(v['promptText']),
    side: strOrNull(v['side']),
    issuedAt: strOrNull(v['issuedAt']),
    endedAt: strOrNull(v['endedAt']),
    outcome: strOrNull(v['outcome']),
    reason: strOrNull(v['reason']),
    measurements: Object.fromEntries(Object.entries(m).filter((e): e is [string, number] => typeof e[1] === 'number')),
    phases: arr(v['phases']).filter(isObj).map((p) => ({ phase: str(p['phase']), ts: str(p['ts']) })),
  };
}

export function parseCallDetail(v: unknown): CallDetail | undefined {
  const entry = parseHistoryEntry(v);
  if (!entry || !isObj(v)) return undefined;
  const participants = arr(v['participants']).flatMap((raw): ParticipantDetail[] => {
    const p = participant(raw);
    if (!p || !isObj(raw)) return [];
    return [
      {
        ...p,
        models: parseModelCoverage(raw['models']) ?? [],
        timeline: arr(raw['timeline']).map(point).filter((x): x is DetailPoint => x !== undefined),
        challenges: arr(raw['challenges']).map(challenge).filter((x): x is ChallengeDetail => x !== undefined),
        decisions: arr(raw['decisions']).map(decision).filter((x): x is HistoryDecision & DecisionDetail => x !== undefined),
      },
    ];
  });
  return { ...entry, source: v['source'] === 'memory' ? 'memory' : 'audit-trail', events: num(v['events']), participants };
}

async function request(path: string, timeoutMs: number): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { credentials: 'same-origin', signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const timeout = e instanceof DOMException && e.name === 'TimeoutError';
    throw new ApiError(timeout ? 'ERR_TIMEOUT' : 'ERR_NETWORK', timeout ? 'the server did not answer in time' : 'the server cannot be reached', 0);
  }
  if (!res.ok) {
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    const err = isObj(body) && isObj(body['error']) ? body['error'] : {};
    throw new ApiError(typeof err['code'] === 'string' ? err['code'] : `HTTP_${res.status}`, typeof err['message'] === 'string' ? err['message'] : res.statusText || 'request failed', res.status);
  }
  return res;
}

export interface HistoryClientOptions {
  timeoutMs: number;
  /** Evidence export reads the whole call back from JetStream. */
  evidenceTimeoutMs: number;
}

export const defaultHistoryClientOptions: HistoryClientOptions = { timeoutMs: 10_000, evidenceTimeoutMs: 60_000 };

export class HistoryClient {
  readonly options: HistoryClientOptions;

  constructor(options: Partial<HistoryClientOptions> = {}) {
    this.options = { ...defaultHistoryClientOptions, ...options };
  }

  async list(query: URLSearchParams): Promise<CallList> {
    const r = (await (await request(`/v1/calls?${query.toString()}`, this.options.timeoutMs)).json()) as unknown;
    const o = isObj(r) ? r : {};
    return { calls: arr(o['calls']).map(parseHistoryEntry).filter((c): c is HistoryEntry => c !== undefined), total: num(o['total']), limit: num(o['limit']), offset: num(o['offset']) };
  }

  async detail(callId: string): Promise<CallDetail> {
    const d = parseCallDetail(await (await request(`/v1/calls/${encodeURIComponent(callId)}`, this.options.timeoutMs)).json());
    if (!d) throw new ApiError('ERR_BAD_RESPONSE', 'the server sent an unreadable call', 0);
    return d;
  }

  /** The evidence bundle file, byte for byte, with the server's file name. */
  async evidence(callId: string): Promise<{ blob: Blob; fileName: string }> {
    const res = await request(`/v1/calls/${encodeURIComponent(callId)}/evidence`, this.options.evidenceTimeoutMs);
    const m = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '');
    return { blob: await res.blob(), fileName: m?.[1] ?? `evidence-${callId}.json` };
  }
}
