/**
 * Speech-gated sliding windows over a 16 kHz sample stream.
 *
 * Samples arrive with `append()` as soon as they are decoded; VAD probabilities arrive
 * later, one per 512-sample frame and strictly in frame order, with `addVad()`. A window
 * [k * hop, k * hop + length) is considered once VAD covers all of it, and emitted only if
 * it holds at least `minSpeechSeconds` of frames whose probability reaches
 * `speechThreshold`. Each window carries the RTP span (48 kHz clock, unwrapped) and the
 * wall-clock span of its samples.
 *
 * First window. A grid window needs `windowSeconds` of audio, so the first verdict of a call
 * would wait that long after speech starts. With `firstWindowSeconds` > 0, until the segment
 * has emitted a window holding `firstWindowSpeech x firstWindowSeconds` of speech, the trailing
 * `firstWindowSeconds` of classified audio is considered after every VAD result and emitted
 * (once per segment) as soon as it holds that much speech: the detectors get a short window
 * about `firstWindowSeconds` after speech onset, wherever onset falls on the grid (a grid
 * window that caught only the start of speech does not count). It is an extra window; the
 * grid goes on unchanged.
 *
 * Sample indices count from the last `reset(rtpBase)`; sample i has RTP timestamp
 * rtpBase + i * rtpClockRate / sampleRate. Memory is fixed: one ring of samples
 * (window + `maxPendingSeconds` of not-yet-classified audio), one ring of VAD
 * probabilities and one ring of chunk arrival times. A window whose samples were
 * overwritten before VAD caught up is dropped and counted.
 */
import type { AudioWindow } from '../messages.js';
import { DfdError } from '../../kernel/errors.js';
import { RingBuffer } from './RingBuffer.js';

export interface SpeechWindowerOptions {
  sampleRate: number;
  /** RTP clock of the source (for the RTP spans). */
  rtpClockRate: number;
  windowSeconds: number;
  hopSeconds: number;
  minSpeechSeconds: number;
  /** VAD probability at or above which a frame counts as speech. */
  speechThreshold: number;
  /** VAD frame size in samples. */
  frameSamples: number;
  /** Audio that may wait for VAD, beyond one window. */
  maxPendingSeconds: number;
  /** Length of the early first window of a segment (0 = none); at most `windowSeconds`. */
  firstWindowSeconds: number;
  /** Share (0..1] of the first window that must be speech. */
  firstWindowSpeech: number;
}

export const defaultSpeechWindowerOptions: SpeechWindowerOptions = {
  sampleRate: 16000,
  rtpClockRate: 48000,
  windowSeconds: 2,
  hopSeconds: 0.5,
  minSpeechSeconds: 0.5,
  speechThreshold: 0.5,
  frameSamples: 512,
  maxPendingSeconds: 4,
  firstWindowSeconds: 0,
  firstWindowSpeech: 0.6,
};

/** The audio and timing fields of an AudioWindow (pipeline/messages.ts), before stream and quality are added. */
export interface SpeechWindow extends Pick<AudioWindow, 'sampleRate' | 'samples' | 'rtpStart' | 'rtpEnd' | 'wallStart' | 'wallEnd' | 'speechSeconds'> {
  /** Sample index (since reset) of the first sample. */
  startIndex: number;
}

export interface SpeechWindowerStats {
  emitted: number;
  /** Windows considered but below minSpeechSeconds. */
  gated: number;
  /** Windows whose samples were overwritten before VAD caught up. */
  dropped: number;
  /** Of `emitted`, early first windows of a segment. */
  first: number;
}

const CHUNKS = 4096;

export class SpeechWindower {
  readonly options: Readonly<SpeechWindowerOptions>;
  readonly windowSamples: number;
  readonly hopSamples: number;
  readonly firstWindowSamples: number;
  readonly #ring: RingBuffer;
  readonly #probs: Float32Array;
  readonly #chunkStart = new Float64Array(CHUNKS);
  readonly #chunkWall = new Float64Array(CHUNKS);
  #chunkCount = 0;
  #chunkHead = 0;
  readonly #onWindow: (w: SpeechWindow) => void;
  readonly #ratio: number;
  #rtpBase = 0;
  #vadFrames = 0;
  #nextStart = 0;
  #lastEnd = 0;
  /** Whether the segment has emitted a window with the first window's share of speech (the first window is armed until then). */
  #segmentEmitted = false;
  readonly #stats: SpeechWindowerStats = { emitted: 0, gated: 0, dropped: 0, first: 0 };

  constructor(onWindow: (w: SpeechWindow) => void, options: Partial<SpeechWindowerOptions> = {}) {
    const o = { ...defaultSpeechWindowerOptions, ...options };
    this.options = o;
    this.windowSamples = Math.round(o.windowSeconds * o.sampleRate);
    this.hopSamples = Math.round(o.hopSeconds * o.sampleRate);
    this.firstWindowSamples = Math.round(o.firstWindowSeconds * o.sampleRate);
    if (!(this.windowSamples > 0) || !(this.hopSamples > 0) || !(o.frameSamples > 0) || !(o.maxPendingSeconds >= 0)) {
      throw new DfdError('ERR_CONFIG', 'speech windower needs positive window, hop and frame sizes');
    }
    if (!(this.firstWindowSamples >= 0 && this.firstWindowSamples <= this.windowSamples) || !(o.firstWindowSpeech > 0 && o.firstWindowSpeech <= 1)) {
      throw new DfdError('ERR_CONFIG', 'speech windower: firstWindowSeconds must lie in [0, windowSeconds] and firstWindowSpeech in (0, 1]', {
        firstWindowSeconds: o.firstWindowSeconds,
        windowSeconds: o.windowSeconds,
        firstWindowSpeech: o.firstWindowSpeech,
      });
    }
    const capacity = this.windowSamples + Math.ceil(o.maxPendingSeconds * o.sampleRate) + 2 * o.frameSamples;
    this.#ring = new RingBuffer({ capacity });
    this.#probs = new Float32Array(Math.ceil(capacity / o.frameSamples) + 2);
    this.#ratio = o.rtpClockRate / o.sampleRate;
    this.#onWindow = onWindow;
  }

  stats(): SpeechWindowerStats {
    return { ...this.#stats };
  }

  /** Samples appended since reset. */
  get totalSamples(): number {
    return this.#ring.end;
  }

  /** Whole VAD frames appended since reset. */
  get completeFrames(): number {
    return Math.floor(this.#ring.end / this.options.frameSamples);
  }

  /** Frames that already have a VAD result. */
  get vadFrames(): number {
    return this.#vadFrames;
  }

  /** Oldest frame whose samples are still held. */
  get oldestHeldFrame(): number {
    return Math.ceil(this.#ring.start / this.options.frameSamples);
  }

  /** Starts a new segment: sample 0 of it has RTP timestamp `rtpBase`. */
  reset(rtpBase: number): void {
    this.#ring.clear(0);
    this.#rtpBase = rtpBase;
    this.#vadFrames = 0;
    this.#nextStart = 0;
    this.#lastEnd = 0;
    this.#segmentEmitted = false;
    this.#chunkCount = 0;
    this.#chunkHead = 0;
  }

  /** Appends decoded samples that arrived (or were concealed) at wall-clock `wallMs`. */
  append(samples: Float32Array, wallMs: number): void {
    if (samples.length === 0) return;
    const i = (this.#chunkHead + this.#chunkCount) % CHUNKS;
    this.#chunkStart[i] = this.#ring.end;
    this.#chunkWall[i] = wallMs;
    if (this.#chunkCount < CHUNKS) this.#chunkCount++;
    else this.#chunkHead = (this.#chunkHead + 1) % CHUNKS;
    this.#ring.write(samples);
  }

  /** Copies the samples of VAD frame `frame` into `out`. DfdError ERR_RANGE when gone. */
  readFrame(frame: number, out: Float32Array): Float32Array {
    return this.#ring.read(frame * this.options.frameSamples, this.options.frameSamples, out);
  }

  /** Records the VAD probability of the next frame (frame number `vadFrames`) and emits due windows. */
  addVad(probability: number): void {
    if (this.#vadFrames >= this.completeFrames) throw new DfdError('ERR_RANGE', 'VAD result for a frame not yet appended');
    this.#probs[this.#vadFrames % this.#probs.length] = probability;
    this.#vadFrames++;
    const covered = this.#vadFrames * this.options.frameSamples;
    if (!this.#segmentEmitted && this.firstWindowSamples > 0 && covered >= this.firstWindowSamples && covered < this.#nextStart + this.windowSamples) {
      this.#considerFirst(covered - this.firstWindowSamples, covered);
    }
    while (this.#nextStart + this.windowSamples <= covered) {
      this.#consider(this.#nextStart, this.#nextStart + this.windowSamples);
      this.#nextStart += this.hopSamples;
    }
  }

  /**
   * End of stream: considers one last window ending at the last classified sample, if it
   * reaches past the previous window (shorter than `windowSeconds` for a short stream).
   */
  flushTail(): void {
    const covered = this.#vadFrames * this.options.frameSamples;
    if (covered <= this.#lastEnd || covered === 0) return;
    const start = Math.max(0, covered - this.windowSamples, this.#ring.start);
    this.#consider(start, covered);
    this.#nextStart = Math.max(this.#nextStart, covered);
  }

  /** The early first window: emitted once it holds enough speech; not counted as gated while it waits. */
  #considerFirst(start: number, end: number): void {
    if (start < this.#ring.start) return;
    const speech = this.#speechSamples(start, end);
    if (speech < Math.max(this.#firstSpeechSamples(), this.options.minSpeechSeconds * this.options.sampleRate)) return;
    this.#stats.first++;
    this.#emit(start, end, speech / this.options.sampleRate);
  }

  #consider(start: number, end: number): void {
    if (start < this.#ring.start) {
      this.#stats.dropped++;
      return;
    }
    const speech = this.#speechSamples(start, end) / this.options.sampleRate;
    if (speech < this.options.minSpeechSeconds) {
      this.#stats.gated++;
      return;
    }
    this.#emit(start, end, speech);
  }

  #emit(start: number, end: number, speech: number): void {
    const samples = this.#ring.read(start, end - start);
    this.#lastEnd = Math.max(this.#lastEnd, end);
    if (speech * this.options.sampleRate >= this.#firstSpeechSamples()) this.#segmentEmitted = true;
    this.#stats.emitted++;
    this.#onWindow({
      startIndex: start,
      sampleRate: this.options.sampleRate,
      samples,
      rtpStart: this.#rtpBase + Math.round(start * this.#ratio),
      rtpEnd: this.#rtpBase + Math.round((end - 1) * this.#ratio),
      wallStart: this.#wallAt(start),
      wallEnd: this.#wallAt(end - 1),
      speechSeconds: speech,
    });
  }

  /** Speech (samples) the early first window needs, and that a window must hold to disarm it. */
  #firstSpeechSamples(): number {
    return this.options.firstWindowSpeech * this.firstWindowSamples;
  }

  #speechSamples(start: number, end: number): number {
    const F = this.options.frameSamples;
    const thr = this.options.speechThreshold;
    let total = 0;
    for (let f = Math.floor(start / F); f * F < end; f++) {
      if (this.#probs[f % this.#probs.length]! >= thr) {
        total += Math.min(end, (f + 1) * F) - Math.max(start, f * F);
      }
    }
    return total;
  }

  /** Arrival time of the chunk holding sample `i` (binary search over the chunk ring). */
  #wallAt(i: number): number {
    const n = this.#chunkCount;
    if (n === 0) return 0;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#chunkStart[(this.#chunkHead + mid) % CHUNKS]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.#chunkWall[(this.#chunkHead + lo) % CHUNKS]!;
  }
}
