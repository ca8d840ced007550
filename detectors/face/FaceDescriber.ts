/**
 * Who is this face? @vladmandic/human's description network (detectors/models/face-embed,
 * converted to ONNX by detectors/convert/) on one aligned face crop: a 1024-d descriptor,
 * L2-normalised, compared by cosine. The verdict's face continuity (a different person in front
 * of the camera mid-call) tracks these per participant.
 *
 * About 12 ms per crop on one core (docs/continuity.md): the media worker describes one crop per
 * face window, the most frontal one (`describableIndex`). A face turned away is not described at
 * all: descriptors of profiles and of faces looking up or down do not match the same person's
 * frontal ones, and a head turned for a few seconds must not read as another person.
 * `describe()` blocks the calling thread for the inference: call it from a worker thread.
 */
import type ort from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { DfdError, toDfdError } from '../../kernel/errors.js';
import type { Manifest } from '../registry/Manifest.js';
import { defaultFaceModelSessionOptions, loadFaceModel, modelDir, outputData, SerialQueue, type FaceModelSessionOptions } from './FaceModel.js';
import { sampleAffine, squareCropAffine } from './image.js';

export interface FaceDescriberOptions extends FaceModelSessionOptions {
  modelDir: string;
}

export const defaultFaceDescriberOptions: FaceDescriberOptions = {
  ...defaultFaceModelSessionOptions,
  modelDir: modelDir('face-embed'),
};

/** How far from frontal a face may be and still be described (FaceAnalyzer's pose, degrees). */
export interface DescribablePose {
  maxYawDeg: number;
  maxPitchDeg: number;
}

export const defaultDescribablePose: DescribablePose = { maxYawDeg: 25, maxPitchDeg: 20 };

/** Index of the most frontal pose within the limits (smallest |yaw| + |pitch|), or undefined when none is. */
export function describableIndex(poses: readonly { yawDeg: number; pitchDeg: number }[], limits: DescribablePose = defaultDescribablePose): number | undefined {
  let best: number | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  poses.forEach((p, i) => {
    const y = Math.abs(p.yawDeg);
    const q = Math.abs(p.pitchDeg);
    if (!(y <= limits.maxYawDeg && q <= limits.maxPitchDeg)) return;
    if (y + q < bestScore) {
      bestScore = y + q;
      best = i;
    }
  });
  return best;
}

export class FaceDescriber {
  readonly options: FaceDescriberOptions;
  readonly manifest: Manifest;
  #session: ort.InferenceSession | undefined;
  readonly #queue = new SerialQueue();
  readonly #size: number;
  readonly #input: Float32Array;
  readonly #dim: number;

  private constructor(options: FaceDescriberOptions, manifest: Manifest, session: ort.InferenceSession) {
    this.options = options;
    this.manifest = manifest;
    this.#session = session;
    const image = manifest.image;
    const dim = manifest.outputs[0]?.shape.at(-1);
    if (!image || image.width !== image.height || image.layout !== 'NHWC' || typeof dim !== 'number' || dim < 2) {
      throw new DfdError('ERR_MODEL_MANIFEST', 'face-embed needs a square NHWC image input and a fixed descriptor length');
    }
    this.#size = image.width;
    this.#input = new Float32Array(this.#size * this.#size * 3);
    this.#dim = dim;
  }

  static async load(options: Partial<FaceDescriberOptions> = {}): Promise<FaceDescriber> {
    const opts = { ...defaultFaceDescriberOptions, ...options };
    const { manifest, session } = await loadFaceModel(opts.modelDir, 'face-embed', opts);
    try {
      return new FaceDescriber(opts, manifest, session);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /** The L2-normalised descriptor of one `cropSize` x `cropSize` RGB crop (FaceAnalyzer's aligned crop). */
  describe(crop: Uint8Array, cropSize: number): Promise<Float32Array> {
    return this.#queue.run(() => this.#describeNow(crop, cropSize));
  }

  async close(): Promise<void> {
    const s = this.#session;
    this.#session = undefined;
    await s?.release();
  }

  async #describeNow(crop: Uint8Array, cropSize: number): Promise<Float32Array> {
    const session = this.#session;
    if (!session) throw new DfdError('ERR_CLOSED');
    if (!(Number.isInteger(cropSize) && cropSize >= 16) || crop.length < cropSize * cropSize * 3) {
      throw new DfdError('ERR_BAD_REQUEST', 'face crop must be cropSize x cropSize RGB bytes', { cropSize, bytes: crop.length });
    }
    // The whole crop, resized bilinearly; values stay 0..255 as the model was fed.
    const image = this.manifest.image!;
    const m = squareCropAffine(cropSize / 2, cropSize / 2, cropSize, 0, this.#size, this.#size);
    sampleAffine({ width: cropSize, height: cropSize, rgb: crop }, m, this.#size, this.#size, this.#input, image.scale, 0);
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await session.run({ [this.manifest.inputs[0]!.name]: new Tensor('float32', this.#input, [1, this.#size, this.#size, 3]) });
    } catch (e) {
      throw new DfdError('ERR_INFERENCE_FAILED', 'face descriptor', undefined, { cause: toDfdError(e) });
    }
    const d = outputData(out, this.manifest.outputs[0]!.name, this.#dim);
    let n = 0;
    for (let i = 0; i < this.#dim; i++) n += d[i]! * d[i]!;
    if (!(n > 0) || !Number.isFinite(n)) throw new DfdError('ERR_INFERENCE_FAILED', 'face descriptor is zero or not finite');
    const k = 1 / Math.sqrt(n);
    const v = new Float32Array(this.#dim);
    for (let i = 0; i < this.#dim; i++) v[i] = d[i]! * k;
    return v;
  }
}
