import { describe, expect, it } from 'vitest';
import { describeCoverage, droppedTotal, parseModelCoverage } from './modelCoverage.js';
import { parseCallDetail } from './historyApi.js';

describe('model coverage on the dashboard', () => {
  it('reads the verdict event models, leaving malformed entries out', () => {
    const models = parseModelCoverage([
      { id: 'voice-antispoof', version: '0.3.0', windows: 120 },
      { id: 'speaker-embed', version: '1.1.0', windows: 118, dropped: 3 },
      { id: 'bad-dropped', version: '1', windows: 1, dropped: -1 },
      { id: '', version: '1', windows: 1 },
      { id: 'no-windows', version: '1' },
      'x',
    ]);
    expect(models).toEqual([
      { id: 'voice-antispoof', version: '0.3.0', windows: 120, dropped: 0 },
      { id: 'speaker-embed', version: '1.1.0', windows: 118, dropped: 3 },
    ]);
    expect(droppedTotal(models)).toBe(3);
    expect(droppedTotal(undefined)).toBe(0);
    expect(parseModelCoverage(undefined)).toBeUndefined();
    expect(parseModelCoverage({})).toBeUndefined();
    expect(parseModelCoverage(Array.from({ length: 40 }, (_, i) => ({ id: `m${i}`, version: '1', windows: 1 })))).toHaveLength(32);
  });

  it('says what analysed the participant and what was dropped under load', () => {
    expect(describeCoverage(undefined)).toBe('');
    expect(describeCoverage([])).toBe('');
    expect(
      describeCoverage([
        { id: 'voice-antispoof', version: '0.3.0', windows: 120, dropped: 0 },
        { id: 'voice-whisper', version: '0.1.1', windows: 1, dropped: 0 },
        { id: 'speaker-embed', version: '1.1.0', windows: 118, dropped: 3 },
      ]),
    ).toBe('Analysed by voice-antispoof 0.3.0 (120 windows), voice-whisper 0.1.1 (1 window), speaker-embed 1.1.0 (118 windows, 3 dropped under load)');
  });

  it("the call detail page reads each participant's list the same way, [] when the server sent none", () => {
    const participant = { peerId: 'p1', displayName: 'Ana', joinedAt: '2026-12-07T06:00:00.000Z', leftAt: null, finalState: 'likely-genuine', pFake: 0.1, confidence: 0.8, reason: null, timeline: [], challenges: [], decisions: [] };
    const detail = parseCallDetail({
      callId: 'c1',
      roomId: 'r1',
      kind: 'room',
      live: false,
      startedAt: '2026-12-07T06:00:00.000Z',
      endedAt: null,
      durationSec: null,
      worstState: 'likely-genuine',
      challenges: {},
      decisions: [],
      source: 'audit-trail',
      events: 3,
      participants: [
        { ...participant, models: [{ id: 'voice-antispoof', version: '0.3.0', windows: 40 }, { id: 'speaker-embed', version: '1.1.0', windows: 37, dropped: 3 }, { id: 'x', version: '1', windows: 'many' }] },
        { ...participant, peerId: 'p2' },
      ],
    });
    expect(detail?.participants.map((p) => p.models)).toEqual([
      [
        { id: 'voice-antispoof', version: '0.3.0', windows: 40, dropped: 0 },
        { id: 'speaker-embed', version: '1.1.0', windows: 37, dropped: 3 },
      ],
      [],
    ]);
  });
});
