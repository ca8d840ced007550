/**
 * Speech segments (segments.ts) and the split of a response into two readings of one phrase
 * (readings.ts), on frame flags, on syllable-like bursts and on espeak-ng speech.
 */
import { describe, expect, it } from 'vitest';
import { analyseAudio } from './analyse.js';
import { splitReadings } from './readings.js';
import { speechSegments, type SpeechSegment } from './segments.js';
import { SR, concat, espeak, syllableBursts } from '../testing/signals.js';

const silence = (sec: number): Float32Array => new Float32Array(Math.round(sec * SR));
const seg = (startSec: number, endSec: number, nuclei: number): SpeechSegment => ({ startSec, endSec, nuclei, voicedSec: endSec - startSec });

describe('speechSegments', () => {
  it('makes runs of active frames, bridges short gaps, counts nuclei and voiced time per run', () => {
    const flags = (s: string): boolean[] => [...s].map((c) => c === '1');
    //                 0         1         2         3
    //                 0123456789012345678901234567890123
    const active = flags('0011111101111100000000001111000000');
    const voiced = flags('0001111000111100000000000110000000');
    const segs = speechSegments(active, voiced, [4, 11, 13, 20, 25], 0.01, { bridgeSec: 0.02 });
    // The 1-frame gap at 8 is bridged, the 10-frame gap at 14..23 is a pause; frame 20 is in no run.
    expect(segs).toEqual([
      { startSec: 0.02, endSec: 0.14, nuclei: 3, voicedSec: 0.08 },
      { startSec: 0.24, endSec: 0.28, nuclei: 1, voicedSec: 0.02 },
    ]);
    expect(speechSegments(flags('0000'), flags('0000'), [], 0.01)).toEqual([]);
  });

  it('analyseAudio: two bursts of syllables around a pause are two segments with their syllables', () => {
    const a = analyseAudio(concat(silence(0.3), syllableBursts(4, 2), silence(0.8), syllableBursts(4, 1.5), silence(0.3)));
    const long = a.segments.filter((s) => s.endSec - s.startSec > 0.05);
    expect(long.length).toBeGreaterThanOrEqual(2);
    const before = long.filter((s) => s.endSec <= 2.3).reduce((n, s) => n + s.nuclei, 0);
    const after = long.filter((s) => s.startSec >= 3.1).reduce((n, s) => n + s.nuclei, 0);
    expect(before).toBeGreaterThanOrEqual(6);
    expect(after).toBeGreaterThanOrEqual(4);
    expect(before + after).toBe(a.measurements.syllables);
    // The segments are plain data: they survive structured cloning (the DSP worker boundary).
    expect(structuredClone(a.segments)).toEqual(a.segments);
  });
});

describe('splitReadings', () => {
  it('splits at the longest pause that leaves two comparable parts', () => {
    // Reading 1 (12 nuclei, a 0.35 s pause inside), 0.8 s pause, reading 2 (10 nuclei, faster).
    const segs = [seg(0.3, 1.5, 6), seg(1.85, 3.0, 6), seg(3.8, 5.5, 10)];
    const r = splitReadings(segs);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.pauseSec).toBeCloseTo(0.8, 6);
    expect(r.first).toMatchObject({ startSec: 0.3, endSec: 3.0, nuclei: 12 });
    expect(r.first.spanSec).toBeCloseTo(2.7, 6);
    expect(r.first.activeSec).toBeCloseTo(2.35, 6);
    expect(r.second).toMatchObject({ startSec: 3.8, endSec: 5.5, nuclei: 10 });
    expect(r.candidates).toBe(2);
  });

  it('skips a longer pause whose split makes one part tiny or the parts incomparable', () => {
    // "Um" (2 nuclei), a 1.2 s pause, then two readings (12 and 11 nuclei) 0.6 s apart.
    const segs = [seg(0.2, 0.5, 2), seg(1.7, 4.0, 12), seg(4.6, 6.0, 11)];
    const r = splitReadings(segs);
    expect(r.ok && r.pauseSec).toBeCloseTo(0.6, 6);
    // One reading with a pause in the middle that leaves 3 + 12 nuclei: not comparable.
    expect(splitReadings([seg(0.2, 0.8, 3), seg(1.3, 4.0, 12)])).toEqual({ ok: false, reason: 'parts not comparable', candidates: 1 });
    // No pause long enough at all.
    expect(splitReadings([seg(0.2, 2.0, 8), seg(2.1, 4.0, 8)])).toEqual({ ok: false, reason: 'no pause', candidates: 0 });
    expect(splitReadings([])).toMatchObject({ ok: false, reason: 'no pause' });
  });

  it('finds two espeak-ng readings of one phrase and times them', () => {
    const phrase = 'Please bring the yellow umbrella to the station';
    const normal = espeak(phrase, ['-s', '160']);
    for (const [speed, lo, hi] of [[160, 0.95, 1.05], [270, 1.4, 1.9], [80, 0.4, 0.65]] as const) {
      const a = analyseAudio(concat(silence(0.3), normal, silence(0.7), espeak(phrase, ['-s', String(speed)]), silence(0.3)));
      const r = splitReadings(a.segments);
      expect(r.ok, `-s ${speed}`).toBe(true);
      if (!r.ok) continue;
      expect(r.pauseSec, `-s ${speed}`).toBeGreaterThan(0.7);
      expect(r.first.spanSec / r.second.spanSec, `-s ${speed}`).toBeGreaterThan(lo);
      expect(r.first.spanSec / r.second.spanSec, `-s ${speed}`).toBeLessThan(hi);
    }
    // One reading only: nothing to split.
    expect(splitReadings(analyseAudio(concat(silence(0.3), normal, silence(0.3))).segments).ok).toBe(false);
  });
});
