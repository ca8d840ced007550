import { describe, expect, it } from 'vitest';
import { CALL_ANALYSIS } from '../../api/callQuery.js';
import { ANALYSIS_FILTERS, callKind, challengeSummary, detailTimeline, droppedText, FilterError, filterToQuery, formatDuration, isoToLocal, queryToFilter } from './historyFormat.js';

describe('call history page helpers', () => {
  it('turns the filter form into the /v1/calls query and back', () => {
    const q = filterToQuery({ state: 'suspicious', status: 'ended', room: ' r1 ', analysis: 'thinned', from: '2026-03-01T10:00', to: '2026-03-01T11:00' }, 50);
    expect(q.get('state')).toBe('suspicious');
    expect(q.get('room')).toBe('r1');
    expect(q.get('limit')).toBe('50');
    expect(q.get('analysis')).toBe('thinned');
    expect(q.get('from')).toBe(new Date('2026-03-01T10:00').toISOString());
    expect(queryToFilter(q)).toEqual({ state: 'suspicious', status: 'ended', room: 'r1', analysis: 'thinned', from: '2026-03-01T10:00', to: '2026-03-01T11:00' });
    expect(queryToFilter(new URLSearchParams('state=bogus&room=a.b&status=x&analysis=partial'))).toEqual({ state: '', status: '', room: '', analysis: '', from: '', to: '' });
    // the page offers exactly the API's analysis filters (the browser bundle cannot import the server's list)
    expect([...ANALYSIS_FILTERS]).toEqual([...CALL_ANALYSIS]);
    // the verdict-evidence filter goes both ways too
    const ev = filterToQuery({ state: '', status: '', room: '', analysis: 'evidence-thinned', from: '', to: '' }, 50);
    expect(ev.get('analysis')).toBe('evidence-thinned');
    expect(queryToFilter(ev).analysis).toBe('evidence-thinned');
    expect(isoToLocal('nonsense')).toBe('');
  });

  it('refuses values the server would refuse, naming the field', () => {
    const field = (f: Parameters<typeof filterToQuery>[0]): string | undefined => {
      try {
        filterToQuery(f);
        return undefined;
      } catch (e) {
        return e instanceof FilterError ? e.field : 'other';
      }
    };
    const empty = { state: '', status: '', room: '', analysis: '', from: '', to: '' };
    expect(field({ ...empty, room: 'a b' })).toBe('room');
    expect(field({ ...empty, from: 'yesterday' })).toBe('from');
    expect(field({ ...empty, from: '2026-03-02T00:00', to: '2026-03-01T00:00' })).toBe('from');
    expect(field({ ...empty, state: 'maybe' })).toBe('state');
    expect(field({ ...empty, analysis: 'partial' })).toBe('analysis');
  });

  it('formats durations and challenge counts, and charts verdicts and scores', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(125)).toBe('2 min 05 s');
    expect(formatDuration(3 * 3600 + 60)).toBe('3 h 01 min');
    expect(challengeSummary({ total: 0, passed: 0, failed: 0, other: 0 })).toBe('none');
    expect(droppedText({ dropped: 1 })).toBe('1 window dropped under load');
    expect(droppedText({ dropped: 12 })).toBe('12 windows dropped under load');
    expect(droppedText({ dropped: 12, droppedSpeaker: 1 })).toBe('11 windows and 1 speaker check dropped under load');
    expect(droppedText({ dropped: 3, droppedSpeaker: 3 })).toBe('3 speaker checks dropped under load');
    expect(droppedText({})).toBe('');
    expect(callKind({ kind: 'room' })).toBe('room');
    expect(callKind({ kind: 'phone' })).toBe('phone call');
    expect(callKind({ kind: 'phone', phone: { platform: 'audiohook', platformCallId: 'x' } })).toBe('phone call · Genesys AudioHook');
    expect(challengeSummary({ total: 3, passed: 1, failed: 1, other: 1 })).toBe('3 issued, 1 passed, 1 failed, 1 other');
    const t = '2026-03-01T10:00:00.000Z';
    expect(
      detailTimeline([
        { ts: t, kind: 'verdict', state: 'suspicious', pFake: 0.6, confidence: 0.4 },
        { ts: t, kind: 'score', detector: 'voice-antispoof', pFake: 0.7, weight: 0.25 },
        { ts: 'bad', kind: 'score', detector: 'x', pFake: 0.1 },
      ]),
    ).toEqual([
      { t: Date.parse(t), series: 'pFake', value: 0.6 },
      { t: Date.parse(t), series: 'confidence', value: 0.4 },
      { t: Date.parse(t), series: 'detector:voice-antispoof (weight 0.25)', value: 0.7 },
    ]);
  });
});
