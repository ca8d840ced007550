/**
 * One call per video frame: detect faces (BlazeFace), optionally refine each with the
 * 468-point mesh (FaceMesh), estimate head pose and cut a 256x256 aligned crop
 * (FaceAligner). Meant to run inside a worker thread: no timers, no main-loop state, no
 * process-wide side effects beyond metrics. Inference blocks the calling thread.
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

  async analyze(frame: RgbFrame): Promise<FaceAnalysis> {
    if (this.isClosed) throw new DfdError('ERR_CLOSED');
    checkFrame(frame);
    framesTotal.inc();
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
    return { width: frame.width, height: frame.height, faces, timings: { detectMs, landmarksMs, alignMs } };
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
