/**
 * Query string of `GET /v1/calls`, validated at the boundary: every bad value is a typed
 * ERR_BAD_REQUEST (HTTP 400) naming the parameter, never a crash or a silently ignored filter.
 *
 *   state   comma-separated final verdict states; a call matches when any participant ended in one
 *   status  live | ended
 *   room    room id
 *   tenant  tenant id (calls of one tenant)
 *   analysis thinned | evidence-thinned | complete: a call matches `thinned` when any participant's
 *           last verdict reports windows dropped under load by any model, `evidence-thinned` when
 *           any reports a scoring detector's windows dropped (the verdict rests on less; a speaker
 *           model's drops thin only the takeover check), `complete` when none reports any
 *   from    ISO 8601 date-time; calls still running at or after it
 *   to      ISO 8601 date-time; calls started at or before it
 *   limit   1..500 (default 100), offset 0.. (default 0); newest call first
 */
import { DfdError } from '../kernel/errors.js';
import { TENANT_RE } from '../kernel/tenant.js';
import { VERDICT_STATES, type VerdictState } from '../events/schema.js';
import type { HistoryEntry } from './HistoryEntry.js';
import type { HistoryParticipant } from './historyWire.js';

export interface CallQuery {
  states: VerdictState[] | undefined;
  status: 'live' | 'ended' | undefined;
  room: string | undefined;
  tenant: string | undefined;
  analysis: CallAnalysis | undefined;
  fromMs: number | undefined;
  toMs: number | undefined;
  limit: number;
  offset: number;
}

export const CALL_ANALYSIS = ['thinned', 'evidence-thinned', 'complete'] as const;
export type CallAnalysis = (typeof CALL_ANALYSIS)[number];

export const CALL_QUERY_PARAMS = ['state', 'status', 'room', 'tenant', 'analysis', 'from', 'to', 'limit', 'offset'] as const;
export const MAX_CALLS_LIMIT = 500;

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const ROOM_RE = /^[A-Za-z0-9_-]{1,64}$/;

function bad(param: string, detail: string): never {
  throw new DfdError('ERR_BAD_REQUEST', `${param}: ${detail}`, { param });
}

function time(param: string, raw: string): number {
  const m = ISO_RE.exec(raw);
  const ms = Date.parse(raw);
  // Date.parse rolls impossible dates over (Feb 31 -> Mar 3): check the calendar fields too.
  const [y, mo, d, h, mi, s] = [raw.slice(0, 4), raw.slice(5, 7), raw.slice(8, 10), raw.slice(11, 13), raw.slice(14, 16), m?.[1] ? raw.slice(17, 19) : '0'].map(Number) as [number, number, number, number, number, number];
  const valid = m !== null && !Number.isNaN(ms) && mo >= 1 && mo <= 12 && d >= 1 && d <= new Date(Date.UTC(y, mo, 0)).getUTCDate() && h <= 23 && mi <= 59 && s <= 59;
  if (!valid) bad(param, 'must be an ISO 8601 date-time with a time zone, e.g. 2026-03-01T10:00:00Z');
  return ms;
}

function int(param: string, raw: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(raw)) bad(param, `must be an integer in [${min}, ${max}]`);
  const v = Number(raw);
  if (v < min || v > max) bad(param, `must be an integer in [${min}, ${max}]`);
  return v;
}

export function parseCallQuery(params: URLSearchParams): CallQuery {
  const seen = new Set<string>();
  for (const [k] of params) {
    if (!(CALL_QUERY_PARAMS as readonly string[]).includes(k)) bad(k.slice(0, 64), `unknown parameter (known: ${CALL_QUERY_PARAMS.join(', ')})`);
    if (seen.has(k)) bad(k, 'given more than once');
    seen.add(k);
  }
  const get = (k: (typeof CALL_QUERY_PARAMS)[number]): string | undefined => params.get(k) ?? undefined;
  const q: CallQuery = { states: undefined, status: undefined, room: undefined, tenant: undefined, analysis: undefined, fromMs: undefined, toMs: undefined, limit: 100, offset: 0 };
  const state = get('state');
  if (state !== undefined) {
    const states = state.split(',');
    for (const s of states) if (!(VERDICT_STATES as readonly string[]).includes(s)) bad('state', `must be one or more of ${VERDICT_STATES.join(', ')} (comma separated)`);
    q.states = [...new Set(states as VerdictState[])];
  }
  const status = get('status');
  if (status !== undefined) {
    if (status !== 'live' && status !== 'ended') bad('status', 'must be live or ended');
    q.status = status;
  }
  const room = get('room');
  if (room !== undefined) {
    if (!ROOM_RE.test(room)) bad('room', 'must match [A-Za-z0-9_-]{1,64}');
    q.room = room;
  }
  const tenant = get('tenant');
  if (tenant !== undefined) {
    if (!TENANT_RE.test(tenant)) bad('tenant', 'must match [A-Za-z0-9_-]{1,32}');
    q.tenant = tenant;
  }
  const analysis = get('analysis');
  if (analysis !== undefined) {
    const known = CALL_ANALYSIS.find((a) => a === analysis);
    if (known === undefined) bad('analysis', `must be one of ${CALL_ANALYSIS.join(', ')}`);
    q.analysis = known;
  }
  const from = get('from');
  if (from !== undefined) q.fromMs = time('from', from);
  const to = get('to');
  if (to !== undefined) q.toMs = time('to', to);
  if (q.fromMs !== undefined && q.toMs !== undefined && q.fromMs > q.toMs) bad('from', 'must not be after to');
  const limit = get('limit');
  if (limit !== undefined) q.limit = int('limit', limit, 1, MAX_CALLS_LIMIT);
  const offset = get('offset');
  if (offset !== undefined) q.offset = int('offset', offset, 0, 1_000_000);
  return q;
}

export function matchesQuery(e: HistoryEntry, q: CallQuery, now: number = Date.now()): boolean {
  if (q.room !== undefined && e.roomId !== q.room) return false;
  if (q.tenant !== undefined && e.tenant !== q.tenant) return false;
  if (q.status === 'live' && !e.live) return false;
  if (q.status === 'ended' && e.live) return false;
  if (q.analysis !== undefined && !analysisMatches(q.analysis, e.participants)) return false;
  if (q.states && !e.participants.some((p) => q.states!.includes(p.finalState))) return false;
  const start = Date.parse(e.startedAt);
  const end = e.endedAt ? Date.parse(e.endedAt) : now;
  if (q.fromMs !== undefined && end < q.fromMs) return false;
  if (q.toMs !== undefined && start > q.toMs) return false;
  return true;
}

/** Windows a participant's last verdict lost from its evidence: the drops that were not the speaker model's. */
export function evidenceDropped(p: Pick<HistoryParticipant, 'dropped' | 'droppedSpeaker'>): number {
  return Math.max(0, (p.dropped ?? 0) - (p.droppedSpeaker ?? 0));
}

function analysisMatches(analysis: CallAnalysis, participants: readonly HistoryParticipant[]): boolean {
  if (analysis === 'evidence-thinned') return participants.some((p) => evidenceDropped(p) > 0);
  return participants.some((p) => (p.dropped ?? 0) > 0) === (analysis === 'thinned');
}
