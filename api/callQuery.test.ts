import { describe, expect, it } from 'vitest';
import { isDfdError } from '../kernel/errors.js';
import { evidenceDropped, matchesQuery, parseCallQuery } from './callQuery.js';
import type { HistoryEntry } from './HistoryEntry.js';

const parse = (qs: string) => parseCallQuery(new URLSearchParams(qs));
function rejects(qs: string, param: string): void {
  try {
    parse(qs);
  } catch (e) {
    expect(isDfdError(e, 'ERR_BAD_REQUEST')).toBe(true);
    expect((e as { status: number }).status).toBe(400);
    expect((e as { details: { param: string } }).details.param).toBe(param);
    return;
  }
  throw new Error(`accepted ${qs}`);
}

const entry = (over: Partial<HistoryEntry>): HistoryEntry => ({
  callId: 'c-1',
  roomId: 'r1',
  kind: 'room',
  live: false,
  startedAt: '2026-03-01T10:00:00.000Z',
  endedAt: '2026-03-01T10:30:00.000Z',
  durationSec: 1800,
  participants: [{ peerId: 'p1', displayName: 'A', joinedAt: '2026-03-01T10:00:00.000Z', leftAt: null, finalState: 'suspicious', pFake: 0.6, confidence: 0.5, reason: null }],
  worstState: 'suspicious',
  challenges: { total: 0, passed: 0, failed: 0, other: 0 },
  decisions: [],
  ...over,
});

describe('GET /v1/calls query', () => {
  it('parses every filter', () => {
    expect(parse('state=suspicious,deepfake-likely&status=ended&room=r1&tenant=acme&analysis=thinned&from=2026-03-01T09:00:00Z&to=2026-03-01T11:00:00%2B01:00&limit=5&offset=10')).toEqual({
      states: ['suspicious', 'deepfake-likely'],
      status: 'ended',
      room: 'r1',
      tenant: 'acme',
      analysis: 'thinned',
      fromMs: Date.parse('2026-03-01T09:00:00Z'),
      toMs: Date.parse('2026-03-01T10:00:00Z'),
      limit: 5,
      offset: 10,
    });
    expect(parse('')).toMatchObject({ states: undefined, analysis: undefined, limit: 100, offset: 0 });
    expect(parse('analysis=complete').analysis).toBe('complete');
  });

  it('answers every bad value with ERR_BAD_REQUEST naming the parameter', () => {
    rejects('state=fake', 'state');
    rejects('state=', 'state');
    rejects('status=open', 'status');
    rejects('room=a.b', 'room');
    rejects('room=' + 'x'.repeat(65), 'room');
    rejects('from=yesterday', 'from');
    rejects('from=2026-03-01', 'from');
    rejects('to=2026-03-01T10:00:00', 'to');
    rejects('to=2026-02-31T10:00:00Z', 'to');
    rejects('from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', 'from');
    rejects('limit=0', 'limit');
    rejects('limit=501', 'limit');
    rejects('limit=1e3', 'limit');
    rejects('offset=-1', 'offset');
    rejects('room=r1&room=r2', 'room');
    rejects('sort=asc', 'sort');
    rejects('tenant=a.b', 'tenant');
    rejects('tenant=' + 'x'.repeat(33), 'tenant');
    rejects('analysis=partial', 'analysis');
    rejects('analysis=', 'analysis');
  });

  it('matches by room, tenant, status, final state of any participant and overlap with the time range', () => {
    const e = entry({});
    expect(matchesQuery(e, parse('room=r1&state=suspicious&status=ended'))).toBe(true);
    expect(matchesQuery(e, parse('room=r2'))).toBe(false);
    expect(matchesQuery(entry({ tenant: 'acme' }), parse('tenant=acme'))).toBe(true);
    expect(matchesQuery(entry({ tenant: 'globex' }), parse('tenant=acme'))).toBe(false);
    expect(matchesQuery(e, parse('tenant=acme'))).toBe(false);
    expect(matchesQuery(e, parse('status=live'))).toBe(false);
    expect(matchesQuery(e, parse('state=verified'))).toBe(false);
    expect(matchesQuery(e, parse('from=2026-03-01T10:29:00Z'))).toBe(true);
    expect(matchesQuery(e, parse('from=2026-03-01T10:31:00Z'))).toBe(false);
    expect(matchesQuery(e, parse('to=2026-03-01T09:59:00Z'))).toBe(false);
    // thinned: any participant's last verdict dropped windows under load; complete: none did
    const thinned = entry({ participants: [e.participants[0]!, { ...e.participants[0]!, peerId: 'p2', dropped: 4 }] });
    expect(matchesQuery(thinned, parse('analysis=thinned'))).toBe(true);
    expect(matchesQuery(thinned, parse('analysis=complete'))).toBe(false);
    expect(matchesQuery(e, parse('analysis=thinned'))).toBe(false);
    expect(matchesQuery(e, parse('analysis=complete'))).toBe(true);
    // evidence-thinned: a scoring detector's windows dropped; the speaker model's alone thin only the takeover check
    expect(parse('analysis=evidence-thinned').analysis).toBe('evidence-thinned');
    const speakerOnly = entry({ participants: [{ ...e.participants[0]!, dropped: 4, droppedSpeaker: 4 }] });
    const both = entry({ participants: [{ ...e.participants[0]!, dropped: 4, droppedSpeaker: 1 }] });
    expect(matchesQuery(speakerOnly, parse('analysis=thinned'))).toBe(true);
    expect(matchesQuery(speakerOnly, parse('analysis=evidence-thinned'))).toBe(false);
    expect(matchesQuery(both, parse('analysis=evidence-thinned'))).toBe(true);
    expect(matchesQuery(thinned, parse('analysis=evidence-thinned'))).toBe(true);
    expect(matchesQuery(e, parse('analysis=evidence-thinned'))).toBe(false);
    expect(evidenceDropped({ dropped: 4, droppedSpeaker: 1 })).toBe(3);
    expect(evidenceDropped({ droppedSpeaker: 2 })).toBe(0);
    const live = entry({ live: true, endedAt: null });
    expect(matchesQuery(live, parse('from=2026-03-01T12:00:00Z'), Date.parse('2026-03-01T13:00:00Z'))).toBe(true);
  });
});
