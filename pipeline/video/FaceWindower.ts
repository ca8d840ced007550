/**
 * The video path's windowing stage, the counterpart of audio/SpeechWindower.ts:
 *
 *   DecodedVideoFrame (VideoStreamProcessor 'frame', at most videoFps)
 *     -> FaceAnalyzer       (BlazeFace + FaceMesh + alignment, serial per stream: a frame that
 *                            arrives while the previous one is analysed is skipped and counted;
 *                            the stream's FaceTrack runs the detector on one frame in
 *                            `redetectEvery` and lets the mesh follow the face in between)
 *     -> 'observation'      one FaceObservation per analysed frame, face or not (pose, visibility
 *                            of face regions against this stream's reference: challenges read them)
 *     -> 'window'           a FaceWindow every `faceWindowFrames` frames with a face: their aligned
 *                            crops, wall-clock span and quality (frame rate, face size, packet loss,
 *                            and an `issue` when the face detectors must abstain: faceGate.ts),
 *                            and with a FaceDescriber the descriptor of its most frontal crop (who it
 *                            is; none when every face of the window is turned away)
 *
 * One instance per stream; it owns nothing but its pending crops. A failed analysis is logged and
 * the frame counted as analysed-without-face, never thrown; a failed description leaves the
 * window without a descriptor. Describing runs inside the frame's analysis turn, so its cost shows
 * as skipped frames, like the analysis's own.
 */
import { createLogger } from '../../kernel/log.js';
import { TypedEmitter } from '../../kernel/TypedEmitter.js';
import type { FaceAnalyzer } from '../../detectors/face/FaceAnalyzer.js';
import { FaceTrack } from '../../detectors/face/FaceTrack.js';
import { describableIndex, type FaceDescriber } from '../../detectors/face/FaceDescriber.js';
import type { FaceObservation } from '../../detectors/face/FaceObservation.js';
import type { RgbFrame } from '../../detectors/face/image.js';
import { RegionVisibility } from '../../detectors/face/RegionVisibility.js';
import { largestFace, toFaceObservation } from '../../detectors/face/observe.js';
import type { FaceWindow, FaceWindowIssue, StreamRef } from '../messages.js';
import { defaultFaceGateOptions, faceMotion, faceWindowIssue, frameFaceIssue, type FaceGateOptions } from './faceGate.js';
import type { DecodedVideoFrame } from './FfmpegVp8Decoder.js';

const log = createLogger('video.faces');

export interface FaceWindowerOptions {
  /** Frames with a face per window. */
  faceWindowFrames: number;
  /** Side of the aligned square crops (FaceAnalyzer's crop size), px. */
  cropSize: number;
  /** Face detector on one analysed frame in this many (FaceTrack); 1 = every frame. */
  redetectEvery: number;
  /** When a window is not to be judged (several faces, face cut off, frozen, dark). */
  gate: FaceGateOptions;
}

export const defaultFaceWindowerOptions: FaceWindowerOptions = { faceWindowFrames: 5, cropSize: 256, redetectEvery: 5, gate: defaultFaceGateOptions };

/** What the window's quality needs from the decode path when the window closes. */
export interface VideoLinkStats {
  frameRate: number;
  packets: number;
  lost: number;
}

export interface FaceWindowerEvents {
  observation: [o: FaceObservation];
  window: [w: FaceWindow];
}

export interface FaceWindowerStats {
  /** Frames run through the face analyzer. */
  analysed: number;
  /** Frames that arrived while the previous one was being analysed. */
  skipped: number;
  /** Smaller side of the last face found, px (0 before the first). */
  faceSize: number;
  /** Analysed frames whose face the detector placed, and those the track placed. */
  detections: number;
  tracked: number;
}

export class FaceWindower extends TypedEmitter<FaceWindowerEvents> {
  readonly options: FaceWindowerOptions;
  readonly #stream: StreamRef;
  readonly #faces: Pick<FaceAnalyzer, 'analyze'>;
  readonly #link: () => VideoLinkStats;
  readonly #describer: Pick<FaceDescriber, 'describe'> | undefined;
  readonly #visibility = new RegionVisibility();
  readonly #track: FaceTrack;
  #busy = false;
  #closed = false;
  #analysed = 0;
  #skipped = 0;
  #faceSize = 0;
  #seq = 0;
  #crops: Uint8Array[] = [];
  #poses: { yawDeg: number; pitchDeg: number }[] = [];
  #faceSizes: number[] = [];
  #issues = new Set<FaceWindowIssue>();
  /** The last analysed frame if it had a face (the face gate compares the face region across frames), and this window's changes. */
  #prev: RgbFrame | undefined;
  #motion: number[] = [];
  #windowStart = 0;

  /**
   * `link`: the decode path's stats, read when a window closes (VideoStreamProcessor.stats).
   * `describer`: face continuity's descriptor model; without it windows carry no descriptor.
   */
  constructor(stream: StreamRef, faces: Pick<FaceAnalyzer, 'analyze'>, link: () => VideoLinkStats, options: Partial<FaceWindowerOptions> = {}, describer?: Pick<FaceDescriber, 'describe'>) {
    super();
    this.options = { ...defaultFaceWindowerOptions, ...options };
    this.#stream = stream;
    this.#faces = faces;
    this.#link = link;
    this.#describer = describer;
    this.#track = new FaceTrack({ redetectEvery: this.options.redetectEvery });
  }

  /** Whether a frame is being analysed now. */
  get busy(): boolean {
    return this.#busy;
  }

  stats(): FaceWindowerStats {
    return { analysed: this.#analysed, skipped: this.#skipped, faceSize: this.#faceSize, ...this.#track.stats() };
  }

  /** Analyses the frame unless the previous one is still running (then it is skipped). Resolves when done. */
  async push(f: DecodedVideoFrame): Promise<void> {
    if (this.#closed) return;
    if (this.#busy) {
      this.#skipped++;
      return;
    }
    this.#busy = true;
    try {
      const analysis = await this.#faces.analyze({ width: f.width, height: f.height, rgb: f.rgb }, this.#track);
      this.#analysed++;
      if (this.#closed) return;
      const face = largestFace(analysis.faces);
      this.safeEmit('observation', toFaceObservation(face, Date.now(), face ? this.#visibility.update(face, f) : {}));
      const frame: RgbFrame = { width: f.width, height: f.height, rgb: f.rgb };
      if (!face) {
        this.#prev = undefined;
        return;
      }
      // the same region (this frame's face box) in this frame and the last one
      const p = this.#prev;
      if (p && p.width === frame.width && p.height === frame.height) this.#motion.push(faceMotion(p, frame, face.box));
      this.#prev = frame;
      this.#faceSize = Math.min(face.box.width, face.box.height);
      if (this.#crops.length === 0) this.#windowStart = f.arrivalMs;
      this.#crops.push(face.crop);
      this.#poses.push({ yawDeg: face.yawDeg, pitchDeg: face.pitchDeg });
      this.#faceSizes.push(this.#faceSize);
      const issue = frameFaceIssue(analysis.faces, face, f.width, f.height, this.options.gate);
      if (issue) this.#issues.add(issue);
      if (this.#crops.length >= this.options.faceWindowFrames) await this.#emitWindow(f.arrivalMs);
    } catch (error) {
      log.warn('face analysis failed', { error });
    } finally {
      this.#busy = false;
    }
  }

  /** Drops pending crops; later frames and analyses finishing after this emit nothing. */
  close(): void {
    this.#closed = true;
    this.#prev = undefined;
    this.#crops = [];
    this.#poses = [];
    this.#faceSizes = [];
    this.#issues.clear();
    this.#motion = [];
  }

  async #emitWindow(wallEnd: number): Promise<void> {
    const n = this.#crops.length;
    const index = describableIndex(this.#poses);
    const frontal = index === undefined ? undefined : this.#crops[index];
    let descriptor: Float32Array | undefined;
    if (this.#describer && frontal) {
      try {
        descriptor = await this.#describer.describe(frontal, this.options.cropSize);
      } catch (error) {
        log.warn('face description failed', { error });
      }
      if (this.#closed) return;
    }
    const size = this.options.cropSize * this.options.cropSize * 3;
    const crops = new Uint8Array(n * size);
    this.#crops.forEach((c, i) => crops.set(c.subarray(0, size), i * size));
    const link = this.#link();
    const issue = faceWindowIssue(this.#crops, size, this.#issues, this.#motion, this.options.gate);
    const window: FaceWindow = {
      type: 'face-window',
      stream: this.#stream,
      seq: this.#seq++,
      width: this.options.cropSize,
      height: this.options.cropSize,
      crops,
      frames: n,
      wallStart: this.#windowStart,
      wallEnd,
      quality: {
        frameRate: link.frameRate,
        faceSize: this.#faceSizes.reduce((a, b) => a + b, 0) / n,
        packetLoss: link.packets + link.lost > 0 ? link.lost / (link.packets + link.lost) : 0,
        ...(issue ? { issue } : {}),
      },
      ...(descriptor ? { descriptor } : {}),
    };
    this.#crops = [];
    this.#poses = [];
    this.#faceSizes = [];
    this.#issues.clear();
    this.#motion = [];
    this.safeEmit('window', window);
  }
}
