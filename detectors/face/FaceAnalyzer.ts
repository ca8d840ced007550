/**
 * One call per video frame: detect faces (BlazeFace), optionally refine each with the
 * 468-point mesh (FaceMesh), estimate head pose and cut a 256x256 aligned crop
 * (FaceAligner). Meant to run inside a worker thread: no timers, no main-loop state, no
 * process-wide side effects beyond metrics. Inference blocks the calling thread.
 *
 * With a stream's FaceTrack (and the mesh on), most frames skip the detector: the mesh is placed
 * from the previous frame's landmarks and the frame returns that one face (`placedBy: 'track'`).
 * The detector still runs on the track's schedule and whenever the mesh loses the face; the
 * analyzer itself keeps no per-stream state.
 *
 * Errors: a malformed frame rejects with ERR_FRAME_INVALID; a failed inference with
 * ERR_INFERENCE_FAILED; a closed analyzer with ERR_CLOSED. A mesh whose presence score is
 * low does not fail the face: the face keeps its detector keypoints and the degradation
 * is counted (dfd_face_degraded_total{reason="mesh_low_presence"}).
 */
import { DfdError } from '../../kernel/errors.js';
import { createLogger } from '../../kernel/log.js';
import { counter, histogram, latencyBuckets } from '../../kernel/metrics.js';
import { BlazeFace, defaultBlazeFaceOptions, type Box, type DetectedFace } from './BlazeFace.js';
import { defaultFaceAlignerOptions, FaceAligner } from './FaceAligner.js';
import { defaultFaceMeshOptions, FaceMesh } from './FaceMesh.js';
import type { FaceTrack } from './FaceTrack.js';
import { checkFrame, type Point, type RgbFrame } from './image.js';

const log = createLogger('face-analyzer');

export interface FaceAnalyzerOptions {
  detectModelDir: string;
  landmarksModelDir: string;
  /** Detector score threshold, 0..1. */
  minScore: number;
  iouThreshold: number;
  maxFaces: number;
  /** Run the 468-point mesh on each face (about 4x the detector's cost per face). */
  landmarks: boolean;
  /** Mesh results below this face-presence probability are dropped. */
  minPresence: number;
  cropSize: number;
  cropScale: number;
  /** Faces whose box is smaller than this (shorter side, frame pixels) are skipped. */
  minFaceSize: number;
  intraOpNumThreads: number;
  interOpNumThreads: number;
}

export const defaultFaceAnalyzerOptions: FaceAnalyzerOptions = {
  detectModelDir: defaultBlazeFaceOptions.modelDir,
  landmarksModelDir: defaultFaceMeshOptions.modelDir,
  minScore: 0.5,
  iouThreshold: defaultBlazeFaceOptions.iouThreshold,
  maxFaces: 4,
  landmarks: true,
  minPresence: 0.5,
  cropSize: defaultFaceAlignerOptions.cropSize,
  cropScale: defaultFaceAlignerOptions.cropScale,
  minFaceSize: 24,
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
};

export interface AnalyzedFace {
  box: Box;
  score: number;
  keypoints: Point[];
  /** 468 * 3 values (x, y frame pixels, z relative depth) when the mesh ran and passed. */
  landmarks?: Float32Array;
  /** Mesh face-presence probability, when the mesh ran. */
  presence?: number;
  rollDeg: number;
  yawDeg: number;
  pitchDeg: number;
  /** cropSize x cropSize x 3 RGB bytes, eyes level. */
  crop: Uint8Array;
}

export interface FaceAnalysis {
  width: number;
  height: number;
  faces: AnalyzedFace[];
  /** Who placed the faces: the detector (every face in the frame) or a stream's track (its one face). */
  placedBy: 'detector' | 'track';
  /** Milliseconds spent per stage on this frame. */
  timings: { detectMs: number; landmarksMs: number; alignMs: number };
}

const stageSeconds = histogram<'stage'>({
  name: 'dfd_face_stage_seconds',
  help: 'Time per frame spent in each face-analysis stage',
  labelNames: ['stage'],
  buckets: latencyBuckets,
});
const framesTotal = counter({ name: 'dfd_face_frames_total', help: 'Frames analysed for faces' });
const facesTotal = counter({ name: 'dfd_face_faces_total', help: 'Faces returned by the face analyser' });
const trackedTotal = counter({ name: 'dfd_face_tracked_frames_total', help: 'Frames whose face was placed by the stream\'s track instead of the detector' });
const trackLostTotal = counter<'reason'>({
  name: 'dfd_face_track_lost_total',
  help: 'Face tracks lost before their next scheduled detection, by reason (the frame then runs the detector)',
  labelNames: ['reason'],
});
const degradedTotal = counter<'reason'>({
  name: 'dfd_face_degraded_total',
  help: 'Faces analysed with reduced quality, by reason',
  labelNames: ['reason'],
});

export class FaceAnalyzer {
  readonly options: FaceAnalyzerOptions;
  private readonly detector: BlazeFace;
  private readonly mesh: FaceMesh | undefined;
  private readonly aligner: FaceAligner;
  private isClosed = false;

  private constructor(options: FaceAnalyzerOptions, detector: BlazeFace, mesh: FaceMesh | undefined) {
    this.options = options;
    this.detector = detector;
    this.mesh = mesh;
    this.aligner = new FaceAligner({ cropSize: options.cropSize, cropScale: options.cropScale });
  }

  static async create(options: Partial<FaceAnalyzerOptions> = {}): Promise<FaceAnalyzer> {
    const o = { ...defaultFaceAnalyzerOptions, ...options };
    if (!(o.minScore > 0 && o.minScore < 1) || !(o.maxFaces >= 1) || !(o.cropSize >= 16) || !(o.cropScale > 0)) {
      throw new DfdError('ERR_CONFIG', 'face analyzer options out of range', { minScore: o.minScore, maxFaces: o.maxFaces, cropSize: o.cropSize, cropScale: o.cropScale });
    }
    const threads = { intraOpNumThreads: o.intraOpNumThreads, interOpNumThreads: o.interOpNumThreads };
    const detector = await BlazeFace.load({ ...threads, modelDir: o.detectModelDir, minScore: o.minScore, iouThreshold: o.iouThreshold, maxFaces: o.maxFaces });
    let mesh: FaceMesh | undefined;
    if (o.landmarks) {
      try {
        mesh = await FaceMesh.load({ ...threads, modelDir: o.landmarksModelDir });
      } catch (e) {
        await detector.close();
        throw e;
      }
    }
    log.info('face analyzer ready', { detector: detector.manifest.version, landmarks: mesh?.manifest.version ?? null });
    return new FaceAnalyzer(o, detector, mesh);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Faces of one frame. With `track` (one per stream) the detector runs only when the track asks
   * for it; the track is updated with this frame's outcome.
   */
  async analyze(frame: RgbFrame, track?: FaceTrack): Promise<FaceAnalysis> {
    if (this.isClosed) throw new DfdError('ERR_CLOSED');
    checkFrame(frame);
    framesTotal.inc();
    if (track && this.mesh && !track.needsDetection(frame.width, frame.height)) {
      const tracked = await this.#followTrack(frame, track, this.mesh);
      if (tracked) return tracked;
    }
    const t0 = performance.now();
    const detected = (await this.detector.detect(frame)).filter((f) => Math.min(f.box.width, f.box.height) >= this.options.minFaceSize);
    const t1 = performance.now();
    let landmarksMs = 0;
    let alignMs = 0;
    const faces: AnalyzedFace[] = [];
    for (const d of detected) {
      let landmarks: Float32Array | undefined;
      let presence: number | undefined;
      if (this.mesh) {
        const m0 = performance.now();
        const lm = await this.mesh.estimate(frame, d);
        landmarksMs += performance.now() - m0;
        presence = lm.presence;
        if (lm.presence >= this.options.minPresence) landmarks = lm.points;
        else degradedTotal.inc({ reason: 'mesh_low_presence' });
      }
      const a0 = performance.now();
      const aligned = this.aligner.align(frame, d, landmarks);
      alignMs += performance.now() - a0;
      faces.push(this.toFace(d, aligned, landmarks, presence));
    }
    facesTotal.inc(faces.length);
    const detectMs = t1 - t0;
    stageSeconds.observe({ stage: 'detect' }, detectMs / 1000);
    if (this.mesh && detected.length > 0) stageSeconds.observe({ stage: 'landmarks' }, landmarksMs / 1000);
    if (detected.length > 0) stageSeconds.observe({ stage: 'align' }, alignMs / 1000);
    if (track) {
      // Follow the largest face, the one the windower keeps, if the mesh found it.
      let best = -1;
      for (let i = 0; i < faces.length; i++) {
        const f = faces[i]!;
        if (best < 0 || f.box.width * f.box.height > faces[best]!.box.width * faces[best]!.box.height) best = i;
      }
      const face = faces[best];
      track.anchor(face?.landmarks ? detected[best] : undefined, face?.landmarks, frame.width, frame.height);
    }
    return { width: frame.width, height: frame.height, faces, placedBy: 'detector', timings: { detectMs, landmarksMs, alignMs } };
  }

  /** The mesh placed from the track; undefined when the track is lost (the caller then detects). */
  async #followTrack(frame: RgbFrame, track: FaceTrack, mesh: FaceMesh): Promise<FaceAnalysis | undefined> {
    const predicted = track.predict();
    if (!predicted) return undefined;
    const m0 = performance.now();
    const lm = await mesh.estimate(frame, predicted);
    const landmarksMs = performance.now() - m0;
    if (!(lm.presence >= this.options.minPresence)) {
      trackLostTotal.inc({ reason: 'mesh_low_presence' });
      track.reset();
      return undefined;
    }
    const placed = track.follow(lm.points);
    if (!placed) {
      trackLostTotal.inc({ reason: 'degenerate' });
      return undefined;
    }
    if (Math.min(placed.box.width, placed.box.height) < this.options.minFaceSize) {
      trackLostTotal.inc({ reason: 'too_small' });
      track.reset();
      return undefined;
    }
    const a0 = performance.now();
    const aligned = this.aligner.align(frame, placed, lm.points);
    const alignMs = performance.now() - a0;
    trackedTotal.inc();
    facesTotal.inc();
    stageSeconds.observe({ stage: 'landmarks' }, landmarksMs / 1000);
    stageSeconds.observe({ stage: 'align' }, alignMs / 1000);
    const face = this.toFace(placed, aligned, lm.points, lm.presence);
    return { width: frame.width, height: frame.height, faces: [face], placedBy: 'track', timings: { detectMs: 0, landmarksMs, alignMs } };
  }

  private toFace(d: DetectedFace, a: ReturnType<FaceAligner['align']>, landmarks: Float32Array | undefined, presence: number | undefined): AnalyzedFace {
    return {
      box: { ...d.box },
      score: d.score,
      keypoints: d.keypoints.map((p): Point => [p[0], p[1]]),
      ...(landmarks ? { landmarks } : {}),
      ...(presence !== undefined ? { presence } : {}),
      rollDeg: a.rollDeg,
      yawDeg: a.yawDeg,
      pitchDeg: a.pitchDeg,
      crop: a.crop,
    };
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await this.detector.close();
    await this.mesh?.close();
  }
}
