/**
 * Speech segments: the runs of active frames of a clip (frames above the silence thresholds
 * of `analyseAudio`), with the syllable nuclei and voiced time inside each run. A compact,
 * serialisable summary of where the speech and the pauses are, so that a checker can split a
 * response into parts (e.g. two readings of one phrase, see readings.ts) without the frames.
 */

export interface SpeechSegment {
  /** First active frame's start, s from the clip start. */
  startSec: number;
  /** Last active frame's start + one hop, s. */
  endSec: number;
  /** Syllable nuclei (speechRate.ts) inside [startSec, endSec). */
  nuclei: number;
  /** Voiced active frames x hop, s. */
  voicedSec: number;
}

export interface SegmentOptions {
  /** Inactive runs shorter than this are bridged (stop closures, weak consonants), s. */
  bridgeSec: number;
}

export const defaultSegmentOptions: SegmentOptions = { bridgeSec: 0.1 };

/**
 * @param active active flag per frame (hop `hopSec`)
 * @param voiced voicing flag per frame (same indexing)
 * @param nucleusFrames ascending frame indices of syllable nuclei
 */
export function speechSegments(active: ArrayLike<boolean>, voiced: ArrayLike<boolean>, nucleusFrames: readonly number[], hopSec: number, options: Partial<SegmentOptions> = {}): SpeechSegment[] {
  const o = { ...defaultSegmentOptions, ...options };
  const bridge = Math.max(0, Math.round(o.bridgeSec / hopSec));
  // Runs of active frames, [first, last] inclusive, with short gaps bridged.
  const runs: { first: number; last: number }[] = [];
  for (let f = 0; f < active.length; f++) {
    if (!active[f]) continue;
    const prev = runs[runs.length - 1];
    if (prev && f - prev.last - 1 < bridge) prev.last = f;
    else runs.push({ first: f, last: f });
  }
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  let k = 0;
  return runs.map(({ first, last }) => {
    let voicedFrames = 0;
    for (let f = first; f <= last; f++) if (active[f] && voiced[f]) voicedFrames++;
    while (k < nucleusFrames.length && (nucleusFrames[k] ?? 0) < first) k++;
    let nuclei = 0;
    while (k < nucleusFrames.length && (nucleusFrames[k] ?? 0) <= last) {
      nuclei++;
      k++;
    }
    return { startSec: round(first * hopSec), endSec: round((last + 1) * hopSec), nuclei, voicedSec: round(voicedFrames * hopSec) };
  });
}
