/**
 * Two readings of one phrase in one response ("read it at your normal pace, then again as fast
 * as you can"): the response is split at the longest pause that leaves two parts of comparable
 * content, so that the second reading can be timed against the first reading of the SAME text
 * (a within-challenge reference instead of the caller's usual rate on other sentences).
 *
 * Content is compared by syllable nuclei (they do not depend on tempo, though nuclei counting
 * merges syllables at fast tempo and splits long ones at slow tempo, hence a wide tolerance);
 * a split that makes one part tiny is rejected.
 */
import type { SpeechSegment } from './segments.js';

export interface ReadingsOptions {
  /** A pause between the readings must be at least this long, s. */
  minPauseSec: number;
  /** Each reading needs at least this many syllable nuclei. */
  minNuclei: number;
  /** Each reading needs at least this much active speech, s. */
  minActiveSec: number;
  /** Larger / smaller nuclei count of the two parts at most this (same text read twice). */
  maxNucleiRatio: number;
}

export const defaultReadingsOptions: ReadingsOptions = {
  minPauseSec: 0.3,
  minNuclei: 3,
  minActiveSec: 0.4,
  maxNucleiRatio: 1.8,
};

export interface Reading {
  startSec: number;
  endSec: number;
  /** endSec - startSec: the reading from its first to its last active frame, pauses inside included, s. */
  spanSec: number;
  /** Active speech inside the reading, s. */
  activeSec: number;
  nuclei: number;
  /** Nuclei per second of span. */
  ratePerSec: number;
}

export type ReadingsSplit =
  | { ok: true; first: Reading; second: Reading; pauseSec: number; candidates: number }
  | { ok: false; reason: 'no pause' | 'parts not comparable'; candidates: number };

function reading(segs: readonly SpeechSegment[]): Reading {
  const startSec = segs[0]?.startSec ?? 0;
  const endSec = segs[segs.length - 1]?.endSec ?? 0;
  const spanSec = endSec - startSec;
  const nuclei = segs.reduce((a, s) => a + s.nuclei, 0);
  return { startSec, endSec, spanSec, activeSec: segs.reduce((a, s) => a + s.endSec - s.startSec, 0), nuclei, ratePerSec: spanSec > 0 ? nuclei / spanSec : 0 };
}

/** Splits `segments` (ascending, non-overlapping) into two readings, or says why it cannot. */
export function splitReadings(segments: readonly SpeechSegment[], options: Partial<ReadingsOptions> = {}): ReadingsSplit {
  const o = { ...defaultReadingsOptions, ...options };
  let best: { first: Reading; second: Reading; pauseSec: number } | undefined;
  let candidates = 0;
  for (let i = 1; i < segments.length; i++) {
    const pauseSec = (segments[i]?.startSec ?? 0) - (segments[i - 1]?.endSec ?? 0);
    if (pauseSec < o.minPauseSec) continue;
    candidates++;
    const first = reading(segments.slice(0, i));
    const second = reading(segments.slice(i));
    const lo = Math.min(first.nuclei, second.nuclei);
    const hi = Math.max(first.nuclei, second.nuclei);
    if (lo < o.minNuclei || hi > o.maxNucleiRatio * lo) continue;
    if (first.activeSec < o.minActiveSec || second.activeSec < o.minActiveSec) continue;
    if (!best || pauseSec > best.pauseSec) best = { first, second, pauseSec };
  }
  if (best) return { ok: true, ...best, candidates };
  return { ok: false, reason: candidates === 0 ? 'no pause' : 'parts not comparable', candidates };
}
