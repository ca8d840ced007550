/**
 * Pure helpers of the call-history pages (unit tested in node): the list filter form to and
 * from the `/v1/calls` query string, durations, challenge summaries, and a call detail's
 * timeline as the chart's points (same series names as the live dashboard).
 */
import type { TimelinePoint } from './state.js';
import { detectorSeries } from './state.js';
import { VERDICT_STATES } from './types.js';
import type { DetailPoint, HistoryEntry, HistoryParticipant } from './historyApi.js';

/** The call list's analysis filter values: the API's own (api/callQuery.ts CALL_ANALYSIS, checked equal in historyFormat.test.ts). */
export const ANALYSIS_FILTERS: readonly string[] = ['thinned', 'evidence-thinned', 'complete'];

export interface HistoryFilter {
  /** '' = any. */
  state: string;
  /** '' | 'live' | 'ended'. */
  status: string;
  room: string;
  /** '' | 'thinned' | 'evidence-thinned' | 'complete': whether a participant's last verdict reports windows dropped under load (any model's, or a scoring detector's). */
  analysis: string;
  /** `datetime-local` values (local time, no zone), '' = open. */
  from: string;
  to: string;
}

export const emptyFilter: HistoryFilter = { state: '', status: '', room: '', analysis: '', from: '', to: '' };

/** A problem with a filter value, named by its field (shown next to it; the server checks again). */
export class FilterError extends Error {
  constructor(
    readonly field: keyof HistoryFilter,
    message: string,
  ) {
    super(message);
    this.name = 'FilterError';
  }
}

const LOCAL_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/;

/** A `datetime-local` value (the browser's local time) as an ISO instant. */
export function localToIso(value: string, field: keyof HistoryFilter): string {
  const ms = LOCAL_RE.test(value) ? new Date(value).getTime() : NaN;
  if (Number.isNaN(ms)) throw new FilterError(field, 'enter a date and time');
  return new Date(ms).toISOString();
}

/** An ISO instant as a `datetime-local` value in the browser's local time. */
export function isoToLocal(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** The query string for a filter; throws FilterError for a value the server would refuse. */
export function filterToQuery(f: HistoryFilter, limit = 100): URLSearchParams {
  const q = new URLSearchParams();
  if (f.state) {
    if (!(VERDICT_STATES as readonly string[]).includes(f.state)) throw new FilterError('state', 'unknown state');
    q.set('state', f.state);
  }
  if (f.status) {
    if (f.status !== 'live' && f.status !== 'ended') throw new FilterError('status', 'unknown status');
    q.set('status', f.status);
  }
  const room = f.room.trim();
  if (room) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(room)) throw new FilterError('room', 'letters, digits, "-" and "_" only (at most 64)');
    q.set('room', room);
  }
  if (f.analysis) {
    if (!ANALYSIS_FILTERS.includes(f.analysis)) throw new FilterError('analysis', 'unknown analysis filter');
    q.set('analysis', f.analysis);
  }
  const from = f.from ? localToIso(f.from, 'from') : '';
  const to = f.to ? localToIso(f.to, 'to') : '';
  if (from && to && from > to) throw new FilterError('from', '"from" is after "to"');
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  q.set('limit', String(limit));
  return q;
}

/** The filter a page URL asks for (unknown or bad values are left empty). */
export function queryToFilter(q: URLSearchParams): HistoryFilter {
  const state = q.get('state') ?? '';
  const status = q.get('status') ?? '';
  const room = q.get('room') ?? '';
  const analysis = q.get('analysis') ?? '';
  return {
    state: (VERDICT_STATES as readonly string[]).includes(state) ? state : '',
    status: status === 'live' || status === 'ended' ? status : '',
    room: /^[A-Za-z0-9_-]{1,64}$/.test(room) ? room : '',
    analysis: ANALYSIS_FILTERS.includes(analysis) ? analysis : '',
    from: q.get('from') ? isoToLocal(q.get('from')!) : '',
    to: q.get('to') ? isoToLocal(q.get('to')!) : '',
  };
}

const PLATFORM_NAMES: Record<string, string> = { twilio: 'Twilio', audiohook: 'Genesys AudioHook', sip: 'SIP', rtp: 'RTP gateway' };

/** "room", "phone call", or "phone call · Twilio" (the channel a phone call came in on). */
export function callKind(c: Pick<HistoryEntry, 'kind' | 'phone'>): string {
  if (c.kind !== 'phone') return 'room';
  return c.phone ? `phone call · ${PLATFORM_NAMES[c.phone.platform] ?? c.phone.platform}` : 'phone call';
}

export function formatDuration(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec)) return '—';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : m > 0 ? `${m} min ${String(r).padStart(2, '0')} s` : `${r} s`;
}

/**
 * A participant's drops in the call list: "3 windows dropped under load" (the verdict's evidence),
 * "2 speaker checks dropped under load" (the takeover check's only), or both, "3 windows and 2
 * speaker checks dropped under load"; '' for none. A summary stored before speaker drops were
 * told apart reads all of its drops as windows.
 */
export function droppedText(p: Pick<HistoryParticipant, 'dropped' | 'droppedSpeaker'>): string {
  const speaker = Math.min(p.droppedSpeaker ?? 0, p.dropped ?? 0);
  const evidence = (p.dropped ?? 0) - speaker;
  const parts: string[] = [];
  if (evidence > 0) parts.push(`${evidence} window${evidence === 1 ? '' : 's'}`);
  if (speaker > 0) parts.push(`${speaker} speaker check${speaker === 1 ? '' : 's'}`);
  return parts.length === 0 ? '' : `${parts.join(' and ')} dropped under load`;
}

export function challengeSummary(c: HistoryEntry['challenges']): string {
  if (c.total === 0) return 'none';
  const parts = [`${c.total} issued`];
  if (c.passed) parts.push(`${c.passed} passed`);
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.other) parts.push(`${c.other} other`);
  return parts.join(', ');
}

/** A participant's verdicts (P(fake), confidence) and detector scores as chart points. */
export function detailTimeline(points: readonly DetailPoint[]): TimelinePoint[] {
  const out: TimelinePoint[] = [];
  for (const p of points) {
    const t = Date.parse(p.ts);
    if (Number.isNaN(t)) continue;
    if (p.kind === 'verdict') {
      out.push({ t, series: 'pFake', value: p.pFake });
      out.push({ t, series: 'confidence', value: p.confidence });
    } else out.push({ t, series: detectorSeries(p.detector, p.weight), value: p.pFake });
  }
  return out;
}
