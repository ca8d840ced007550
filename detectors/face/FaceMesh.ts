/**
 * MediaPipe Face Mesh (468 landmarks, converted to ONNX by detectors/convert/) on one face:
 * a square crop around the detector box (side 1.5 x max(w, h), rotated so the detector's
 * eyes are level), 192x192, values in [0, 1]. Landmarks come back in frame pixels
 * (x, y) plus a relative depth z (frame-pixel scale, negative towards the camera), with
 * the model's face-presence probability.
 *
 * `estimate()` blocks the calling thread for the inference: call it from a worker thread.
 */
import type ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { DfdError, toDfdError } from '../../kernel/errors.js';
import type { Manifest } from '../registry/Manifest.js';
import type { DetectedFace } from './BlazeFace.js';
import { defaultFaceModelSessionOptions, loadFaceModel, modelDir, outputData, SerialQueue, type FaceModelSessionOptions } from './FaceModel.js';
import { applyAffine, checkFrame, sampleAffine, squareCropAffine, type RgbFrame } from './image.js';

export interface FaceMeshOptions extends FaceModelSessionOptions {
  modelDir: string;
  /** Crop side as a multiple of max(box width, box height). */
  cropScale: number;
}

export const defaultFaceMeshOptions: FaceMeshOptions = {
  ...defaultFaceModelSessionOptions,
  modelDir: modelDir('face-landmarks'),
  cropScale: 1.5,
};

export interface FaceLandmarks {
  /** 468 * 3 values: x, y (frame pixels), z (relative depth, frame-pixel scale). */
  points: Float32Array;
  /** Probability (0..1) that the crop held a face. */
  presence: number;
}

export const meshPointCount = 468;
const inputSize = 192;

/** Landmark indices used elsewhere (MediaPipe canonical mesh). */
export const MeshIndex = {
  /** Subject's right eye, outer and inner corner (image left on a frontal face). */
  rightEyeOuter: 33,
  rightEyeInner: 133,
  /** Subject's left eye, inner and outer corner. */
  leftEyeInner: 362,
  leftEyeOuter: 263,
  noseTip: 1,
  foreheadTop: 10,
  chin: 152,
  /** Sides of the face at ear level (subject's right, left): their 3D distance is the head width. */
  rightFaceSide: 234,
  leftFaceSide: 454,
} as const;

/** Roll angle (radians) of the eye line from the detector keypoints (0 = right eye, 1 = left eye). */
export function eyeAngle(face: Pick<DetectedFace, 'keypoints'>): number {
  const r = face.keypoints[0];
  const l = face.keypoints[1];
  if (!r || !l) return 0;
  return Math.atan2(l[1] - r[1], l[0] - r[0]);
}

export class FaceMesh {
  readonly options: FaceMeshOptions;
  readonly manifest: Manifest;
  private session: ort.InferenceSession | undefined;
  private readonly queue = new SerialQueue();
  private readonly input = new Float32Array(inputSize * inputSize * 3);

  private constructor(options: FaceMeshOptions, manifest: Manifest, session: ort.InferenceSession) {
    this.options = options;
    this.manifest = manifest;
    this.session = session;
  }

  static async load(options: Partial<FaceMeshOptions> = {}): Promise<FaceMesh> {
    const opts = { ...defaultFaceMeshOptions, ...options };
    const { manifest, session } = await loadFaceModel(opts.modelDir, 'face-landmarks', opts);
    return new FaceMesh(opts, manifest, session);
  }

  get closed(): boolean {
    return this.session === undefined;
  }

  estimate(frame: RgbFrame, face: Pick<DetectedFace, 'box' | 'keypoints'>): Promise<FaceLandmarks> {
    return this.queue.run(() => this.estimateNow(frame, face));
  }

  private async estimateNow(frame: RgbFrame, face: Pick<DetectedFace, 'box' | 'keypoints'>): Promise<FaceLandmarks> {
    const session = this.session;
    if (!session) throw new DfdError('ERR_CLOSED');
    checkFrame(frame);
    const { box } = face;
    if (![box.x, box.y, box.width, box.height].every(Number.isFinite) || box.width <= 0 || box.height <= 0) {
      throw new DfdError('ERR_BAD_REQUEST', 'face box must be finite with a positive size');
    }
    const side = this.options.cropScale * Math.max(box.width, box.height);
    const m = squareCropAffine(box.x + box.width / 2, box.y + box.height / 2, side, eyeAngle(face), inputSize, inputSize);
    sampleAffine(frame, m, inputSize, inputSize, this.input, 1 / 255, 0);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run({ image: new Tensor('float32', this.input, [1, inputSize, inputSize, 3]) }, ['mesh', 'faceflag']);
    } catch (e) {
      throw new DfdError('ERR_INFERENCE_FAILED', 'face mesh', undefined, { cause: toDfdError(e) });
    }
    const mesh = outputData(out, 'mesh', meshPointCount * 3);
    const flag = outputData(out, 'faceflag', 1);
    const points = new Float32Array(meshPointCount * 3);
    const zScale = side / inputSize;
    for (let i = 0; i < meshPointCount; i++) {
      const [x, y] = applyAffine(m, mesh[3 * i]!, mesh[3 * i + 1]!);
      points[3 * i] = x;
      points[3 * i + 1] = y;
      points[3 * i + 2] = mesh[3 * i + 2]! * zScale;
    }
    return { points, presence: flag[0]! };
  }

  /** Waits for queued calls, then releases the session. Later calls reject with ERR_CLOSED. */
  close(): Promise<void> {
    return this.queue.run(async () => {
      const s = this.session;
      this.session = undefined;
      if (s) await s.release();
    });
  }
}
