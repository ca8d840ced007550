import { describe, expect, it } from 'vitest';
import { isDfdError } from '../../kernel/errors.js';
import { SpeechWindower, type SpeechWindow, type SpeechWindowerOptions } from './SpeechWindower.js';

const F = 512;

/** Appends `seconds` of a ramp signal (value = sample index) in 20 ms chunks; wall = 1000 + index / 16 ms. */
function feed(w: SpeechWindower, seconds: number): void {
  const n = Math.round(seconds * 16000);
  for (let i = w.totalSamples; i < n; i += 320) {
    const c = Float32Array.from({ length: Math.min(320, n - i) }, (_, k) => i + k);
    w.append(c, 1000 + i / 16);
  }
}

function make(opts: Partial<SpeechWindowerOptions> = {}) {
  const out: SpeechWindow[] = [];
  const w = new SpeechWindower((x) => out.push(x), opts);
  w.reset(1_000_000);
  return { w, out };
}

/** Frame f is speech when isSpeech(f * 512 / 16000 seconds). */
function classify(w: SpeechWindower, isSpeech: (t: number) => boolean): void {
  while (w.vadFrames < w.completeFrames) w.addVad(isSpeech((w.vadFrames * F) / 16000) ? 0.9 : 0.1);
}

describe('SpeechWindower', () => {
  it('emits 2 s / 0.5 s windows only where VAD found enough speech, with exact RTP and wall spans', () => {
    const { w, out } = make({ minSpeechSeconds: 1 });
    for (let t = 1; t <= 8; t++) {
      feed(w, t);
      classify(w, (x) => x >= 2 && x < 5);
    }
    expect(out.length).toBeGreaterThan(0);
    for (const win of out) {
      expect(win.startIndex % 8000).toBe(0);
      expect(win.samples.length).toBe(32000);
      expect(win.samples[0]).toBe(win.startIndex);
      expect(win.samples[31999]).toBe(win.startIndex + 31999);
      expect(win.rtpStart).toBe(1_000_000 + 3 * win.startIndex);
      expect(win.rtpEnd).toBe(1_000_000 + 3 * (win.startIndex + 31999));
      expect(win.wallStart).toBe(1000 + (Math.floor(win.startIndex / 320) * 320) / 16);
      expect(win.wallEnd).toBe(1000 + (Math.floor((win.startIndex + 31999) / 320) * 320) / 16);
      // Speech overlap with [2 s, 5 s), at frame granularity.
      const s = win.startIndex / 16000;
      const overlap = Math.max(0, Math.min(s + 2, 5) - Math.max(s, 2));
      expect(win.speechSeconds).toBeGreaterThanOrEqual(1);
      expect(Math.abs(win.speechSeconds - overlap)).toBeLessThan(0.07);
    }
    const starts = out.map((x) => x.startIndex / 16000);
    // Windows starting at 1.5 .. 4.0 s hold >= 1 s of the speech in [2, 5) (the one at 1.0 s
    // holds 0.984 s: the first speech frame starts at 2.016 s).
    expect(starts).toEqual([1.5, 2, 2.5, 3, 3.5, 4]);
    expect(w.stats()).toMatchObject({ emitted: 6, dropped: 0 });
    expect(w.stats().gated).toBeGreaterThan(0);
  });

  it('supports a 1 s hop', () => {
    const { w, out } = make({ hopSeconds: 1, minSpeechSeconds: 0.5 });
    feed(w, 6);
    classify(w, () => true);
    expect(out.map((x) => x.startIndex / 16000)).toEqual([0, 1, 2, 3]);
  });

  it('waits for VAD before emitting and never emits silence-only windows', () => {
    const { w, out } = make();
    feed(w, 4);
    expect(out).toHaveLength(0);
    classify(w, () => false);
    expect(out).toHaveLength(0);
    expect(w.stats().gated).toBe(5);
  });

  it('drops (and counts) windows whose samples were overwritten before VAD caught up', () => {
    const { w, out } = make({ maxPendingSeconds: 1, minSpeechSeconds: 0.1 });
    feed(w, 10);
    expect(w.oldestHeldFrame).toBeGreaterThan(0);
    classify(w, () => true);
    expect(w.stats().dropped).toBeGreaterThan(0);
    // Everything emitted is intact.
    for (const win of out) expect(win.samples[0]).toBe(win.startIndex);
  });

  it('flushTail emits a shorter window for a short stream', () => {
    const { w, out } = make();
    feed(w, 1.2);
    classify(w, () => true);
    expect(out).toHaveLength(0);
    w.flushTail();
    expect(out).toHaveLength(1);
    expect(out[0]!.startIndex).toBe(0);
    expect(out[0]!.samples.length).toBe(Math.floor(1.2 * 16000 / F) * F);
  });

  it('rejects VAD results for frames not yet appended', () => {
    const { w } = make();
    let err: unknown;
    try {
      w.addVad(1);
    } catch (e) {
      err = e;
    }
    expect(isDfdError(err, 'ERR_RANGE')).toBe(true);
  });

  describe('early first window', () => {
    it('emits one short window as soon as the trailing first window is mostly speech, wherever onset falls on the grid', () => {
      const { w, out } = make({ hopSeconds: 1, windowSeconds: 2, minSpeechSeconds: 0.5, firstWindowSeconds: 1, firstWindowSpeech: 0.8 });
      // Silence until 0.7 s, then speech: grid windows [0, 2) and [1, 3) come at 2 s and 3 s.
      for (let t = 0.1; t <= 4.001; t += 0.1) {
        feed(w, t);
        classify(w, (x) => x >= 0.7);
      }
      const first = out[0]!;
      expect(first.samples.length).toBe(16000);
      // Emitted at the first VAD frame where the trailing 1 s held >= 0.8 s of speech: onset (frame
      // 22 at 0.704 s) + 0.8 s, rounded up to whole frames.
      const end = first.startIndex + first.samples.length;
      expect(end % F).toBe(0);
      expect(end / 16000).toBeGreaterThanOrEqual(0.704 + 0.8);
      expect(end / 16000).toBeLessThan(0.704 + 0.8 + F / 16000 + 1e-9);
      expect(first.speechSeconds).toBeGreaterThanOrEqual(0.8);
      expect(first.samples[0]).toBe(first.startIndex);
      // Then the grid, unchanged: 2 s windows every 1 s.
      expect(out.slice(1).map((x) => [x.startIndex / 16000, x.samples.length])).toEqual([
        [0, 32000],
        [1, 32000],
        [2, 32000],
      ]);
      expect(w.stats()).toMatchObject({ emitted: 4, first: 1 });
    });

    it('a grid window that caught only the start of speech does not disarm it', () => {
      const { w, out } = make({ hopSeconds: 1, windowSeconds: 2, minSpeechSeconds: 0.5, firstWindowSeconds: 1, firstWindowSpeech: 0.6 });
      // Speech from 1.45 s: the grid window [0, 2) holds about 0.55 s of it (>= minSpeech 0.5, < 0.6).
      for (let t = 0.1; t <= 3.2; t += 0.1) {
        feed(w, t);
        classify(w, (x) => x >= 1.45);
      }
      const shape = out.map((x) => [x.samples.length, +x.speechSeconds.toFixed(2)]);
      expect(shape[0]![0]).toBe(32000);
      expect(shape[0]![1]).toBeGreaterThanOrEqual(0.5);
      expect(shape[0]![1]).toBeLessThan(0.6);
      // ... so the early window still comes, as soon as the trailing second holds 0.6 s of speech, before the next grid window.
      expect(shape[1]![0]).toBe(16000);
      expect(shape[1]![1]).toBeGreaterThanOrEqual(0.6);
      expect(out[1]!.startIndex + 16000).toBeLessThan(3 * 16000);
      expect(shape[2]![0]).toBe(32000);
      expect(w.stats().first).toBe(1);
    });

    it('is emitted once per segment and armed again by reset', () => {
      const { w, out } = make({ hopSeconds: 1, firstWindowSeconds: 1 });
      feed(w, 1.5);
      classify(w, () => true);
      expect(out.map((x) => x.samples.length)).toEqual([16000]);
      feed(w, 3.1);
      classify(w, () => true);
      expect(out.map((x) => x.samples.length)).toEqual([16000, 32000, 32000]);
      w.reset(2_000_000);
      feed(w, 1.2);
      classify(w, () => true);
      expect(out.map((x) => x.samples.length)).toEqual([16000, 32000, 32000, 16000]);
      expect(w.stats().first).toBe(2);
    });

    it('never comes from a segment without enough speech, and the grid gate is unchanged', () => {
      const { w, out } = make({ hopSeconds: 1, firstWindowSeconds: 1, firstWindowSpeech: 0.8 });
      // Speech bursts of 0.3 s every 0.6 s: never 0.8 s of speech in any 1 s.
      feed(w, 6);
      classify(w, (x) => x % 0.6 < 0.3);
      expect(w.stats().first).toBe(0);
      expect(out.every((x) => x.samples.length === 32000)).toBe(true);
    });

    it('is off with firstWindowSeconds 0 (the default of the windower itself)', () => {
      const { w, out } = make({ hopSeconds: 1 });
      feed(w, 3.1);
      classify(w, () => true);
      expect(out.map((x) => x.samples.length)).toEqual([32000, 32000]);
    });

    it('rejects a first window longer than the window, or a speech share outside (0, 1]', () => {
      for (const bad of [{ firstWindowSeconds: 3 }, { firstWindowSeconds: -1 }, { firstWindowSpeech: 0 }, { firstWindowSpeech: 1.5 }]) {
        let err: unknown;
        try {
          new SpeechWindower(() => {}, { windowSeconds: 2, ...bad });
        } catch (e) {
          err = e;
        }
        expect(isDfdError(err) && err.code === 'ERR_CONFIG').toBe(true);
      }
    });
  });
});
