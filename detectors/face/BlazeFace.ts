/**
 * MediaPipe BlazeFace (256x256 "back" model, converted to ONNX by detectors/convert/)
 * on one RGB frame: letterbox to a square, resize to 256x256, scale to [-1, 1], run,
 * decode the 896 SSD anchors, blend overlapping boxes (MediaPipe's weighted NMS) and
 * return faces in the frame's pixel coordinates.
 *
 * Keypoints, in order: right eye, left eye, nose tip, mouth centre, right ear tragion,
 * left ear tragion. "Right" is the subject's right, i.e. the image's left for a frontal face.
 *
 * `detect()` blocks the calling thread for the inference (about 10 ms here): call it from
 * a worker thread.
 */
import type ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { DfdError, toDfdError } from '../../kernel/errors.js';
import type { Manifest } from '../registry/Manifest.js';
import { defaultFaceModelSessionOptions, loadFaceModel, modelDir, outputData, SerialQueue, type FaceModelSessionOptions } from './FaceModel.js';
import { checkFrame, sampleAffine, type Affine, type Point, type RgbFrame } from './image.js';

export interface Box {
  /** Top-left corner and size in frame pixels (may extend past the frame edge). */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface DetectedFace {
  box: Box;
  /** 0..1, sigmoid of the detector logit (blended over merged anchors). */
  score: number;
  /** 6 keypoints in frame pixels, see the file comment for the order. */
  keypoints: Point[];
}

export interface BlazeFaceOptions extends FaceModelSessionOptions {
  /** Folder with model.onnx + manifest.json. */
  modelDir: string;
  /** Faces below this score are dropped. */
  minScore: number;
  /** Boxes overlapping more than this (IoU) are blended into one face. */
  iouThreshold: number;
  /** At most this many faces, best first. */
  maxFaces: number;
}

export const defaultBlazeFaceOptions: BlazeFaceOptions = {
  ...defaultFaceModelSessionOptions,
  modelDir: modelDir('face-detect'),
  minScore: 0.5,
  iouThreshold: 0.3,
  maxFaces: 10,
};

const inputSize = 256;
const numKeypoints = 6;
const regSize = 16;

/** Anchor centres in input pixels: 16x16 grid x 2 (stride 16), then 8x8 x 6 (stride 32). */
export function blazeFaceAnchors(size = inputSize): Float32Array {
  const specs = [
    { stride: 16, perCell: 2 },
    { stride: 32, perCell: 6 },
  ];
  const out: number[] = [];
  for (const { stride, perCell } of specs) {
    const cells = Math.ceil(size / stride);
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++) {
        for (let k = 0; k < perCell; k++) out.push(stride * (gx + 0.5), stride * (gy + 0.5));
      }
    }
  }
  return Float32Array.from(out);
}

interface Candidate {
  score: number;
  /** x1, y1, x2, y2, then 6 keypoints (x, y), in input pixels. */
  geom: Float64Array;
}

function iou(a: Float64Array, b: Float64Array): number {
  const ix = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const iy = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = ix * iy;
  const areaA = (a[2]! - a[0]!) * (a[3]! - a[1]!);
  const areaB = (b[2]! - b[0]!) * (b[3]! - b[1]!);
  const union = areaA + areaB - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * MediaPipe-style weighted NMS: take the best remaining candidate, blend every candidate
 * overlapping it above `threshold` (score-weighted mean of boxes and keypoints), repeat.
 */
export function weightedNms(cands: Candidate[], threshold: number, maxOut: number): Candidate[] {
  const rest = [...cands].sort((p, q) => q.score - p.score);
  const out: Candidate[] = [];
  while (rest.length > 0 && out.length < maxOut) {
    const best = rest[0]!;
    const keep: Candidate[] = [];
    const remaining: Candidate[] = [];
    for (const c of rest) (iou(best.geom, c.geom) > threshold || c === best ? keep : remaining).push(c);
    const geom = new Float64Array(best.geom.length);
    let wsum = 0;
    for (const c of keep) {
      wsum += c.score;
      for (let i = 0; i < geom.length; i++) geom[i]! += c.geom[i]! * c.score;
    }
    for (let i = 0; i < geom.length; i++) geom[i]! /= wsum;
    out.push({ score: wsum / keep.length, geom });
    rest.length = 0;
    rest.push(...remaining);
  }
  return out;
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

export class BlazeFace {
  readonly options: BlazeFaceOptions;
  readonly manifest: Manifest;
  private session: ort.InferenceSession | undefined;
  private readonly queue = new SerialQueue();
  private readonly input = new Float32Array(inputSize * inputSize * 3);
  private readonly anchors = blazeFaceAnchors();

  private constructor(options: BlazeFaceOptions, manifest: Manifest, session: ort.InferenceSession) {
    this.options = options;
    this.manifest = manifest;
    this.session = session;
  }

  static async load(options: Partial<BlazeFaceOptions> = {}): Promise<BlazeFace> {
    const opts = { ...defaultBlazeFaceOptions, ...options };
    const { manifest, session } = await loadFaceModel(opts.modelDir, 'face-detect', opts);
    return new BlazeFace(opts, manifest, session);
  }

  get closed(): boolean {
    return this.session === undefined;
  }

  /** Faces in frame pixels, best first. Rejects with ERR_FRAME_INVALID for a malformed frame. */
  detect(frame: RgbFrame): Promise<DetectedFace[]> {
    return this.queue.run(() => this.detectNow(frame));
  }

  private async detectNow(frame: RgbFrame): Promise<DetectedFace[]> {
    const session = this.session;
    if (!session) throw new DfdError('ERR_CLOSED');
    checkFrame(frame);
    // Letterbox: the frame sits centred in a square of side S; 256 input px = S / 256 frame px.
    const side = Math.max(frame.width, frame.height);
    const padX = (side - frame.width) / 2;
    const padY = (side - frame.height) / 2;
    const k = side / inputSize;
    const m: Affine = [k, 0, -padX, 0, k, -padY];
    sampleAffine(frame, m, inputSize, inputSize, this.input, 1 / 127.5, -1);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run({ image: new Tensor('float32', this.input, [1, inputSize, inputSize, 3]) });
    } catch (e) {
      throw new DfdError('ERR_INFERENCE_FAILED', 'face detector', undefined, { cause: toDfdError(e) });
    }
    const cls = [outputData(out, 'cls16', 512), outputData(out, 'cls8', 384)];
    const reg = [outputData(out, 'reg16', 512 * regSize), outputData(out, 'reg8', 384 * regSize)];
    const minLogit = Math.log(this.options.minScore / (1 - this.options.minScore));
    const cands: Candidate[] = [];
    let anchor = 0;
    for (let h = 0; h < 2; h++) {
      const c = cls[h]!;
      const r = reg[h]!;
      for (let i = 0; i < c.length; i++, anchor++) {
        const logit = c[i]!;
        if (!(logit >= minLogit)) continue;
        const ax = this.anchors[2 * anchor]!;
        const ay = this.anchors[2 * anchor + 1]!;
        const o = i * regSize;
        const cx = ax + r[o]!;
        const cy = ay + r[o + 1]!;
        const w = r[o + 2]!;
        const hh = r[o + 3]!;
        if (!(w > 0 && hh > 0)) continue;
        const geom = new Float64Array(4 + 2 * numKeypoints);
        geom[0] = cx - w / 2;
        geom[1] = cy - hh / 2;
        geom[2] = cx + w / 2;
        geom[3] = cy + hh / 2;
        for (let p = 0; p < numKeypoints; p++) {
          geom[4 + 2 * p] = ax + r[o + 4 + 2 * p]!;
          geom[5 + 2 * p] = ay + r[o + 5 + 2 * p]!;
        }
        cands.push({ score: sigmoid(logit), geom });
      }
    }
    const merged = weightedNms(cands, this.options.iouThreshold, this.options.maxFaces);
    const toFrame = (x: number, y: number): Point => [x * k - padX, y * k - padY];
    return merged
      .filter((c) => c.score >= this.options.minScore)
      .map((c) => {
        const g = c.geom;
        const [x1, y1] = toFrame(g[0]!, g[1]!);
        const [x2, y2] = toFrame(g[2]!, g[3]!);
        const keypoints: Point[] = [];
        for (let p = 0; p < numKeypoints; p++) keypoints.push(toFrame(g[4 + 2 * p]!, g[5 + 2 * p]!));
        return { box: { x: x1, y: y1, width: x2 - x1, height: y2 - y1 }, score: c.score, keypoints };
      });
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
