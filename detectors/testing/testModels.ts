/**
 * Real, tiny ONNX detectors with fixed weights, written without Python, for tests, the
 * benchmark and the dev set-up. They are NOT deepfake detectors: they compute simple
 * signal features, but through real ONNX graphs run by the real onnxruntime, and they
 * follow the model contract (model.onnx + manifest.json with a correct sha256).
 *
 *  test-voice (voice-antispoof): waveform [batch, samples]
 *      -> mean |x|, mean x^2, mean |x[t] - x[t-1]|  (Abs, Mul, Slice, Sub, ReduceMean)
 *      -> Concat -> Gemm -> logit [batch, 1]
 *  test-face (face-forgery): image [batch, 3, 256, 256]
 *      -> GlobalAveragePool -> Flatten -> Gemm -> logit [batch, 1]
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Manifest } from '../registry/Manifest.js';
import { attr, buildOnnxModel } from './OnnxBuilder.js';

export const VOICE_WEIGHTS = [2.0, -4.0, 6.0] as const;
export const VOICE_BIAS = -0.5;
export const FACE_WEIGHTS = [1.5, -2.0, 0.5] as const;
export const FACE_BIAS = 0.1;
export const FACE_SIZE = 256;

const INT64_MAX = Number.MAX_SAFE_INTEGER; // large enough as a Slice end

/** The test-voice graph; other weights make variants (e.g. one that reads only the high-frequency share, `mad`). */
export function voiceModelBytes(weights: readonly [number, number, number] = VOICE_WEIGHTS, bias: number = VOICE_BIAS): Uint8Array {
  return buildOnnxModel({
    graphName: 'test-voice',
    inputs: [{ name: 'waveform', dtype: 'float32', shape: ['batch', 'samples'] }],
    outputs: [{ name: 'logit', dtype: 'float32', shape: ['batch', 1] }],
    initializers: [
      { name: 'W', dtype: 'float32', dims: [3, 1], values: weights },
      { name: 'B', dtype: 'float32', dims: [1], values: [bias] },
      { name: 'one', dtype: 'int64', dims: [1], values: [1] },
      { name: 'zero', dtype: 'int64', dims: [1], values: [0] },
      { name: 'minus_one', dtype: 'int64', dims: [1], values: [-1] },
      { name: 'end', dtype: 'int64', dims: [1], values: [INT64_MAX] },
    ],
    nodes: [
      { opType: 'Abs', inputs: ['waveform'], outputs: ['abs'] },
      { opType: 'ReduceMean', inputs: ['abs'], outputs: ['f_mav'], attributes: { axes: attr.is([1]), keepdims: attr.i(1) } },
      { opType: 'Mul', inputs: ['waveform', 'waveform'], outputs: ['sq'] },
      { opType: 'ReduceMean', inputs: ['sq'], outputs: ['f_ms'], attributes: { axes: attr.is([1]), keepdims: attr.i(1) } },
      { opType: 'Slice', inputs: ['waveform', 'one', 'end', 'one'], outputs: ['x_next'] },
      { opType: 'Slice', inputs: ['waveform', 'zero', 'minus_one', 'one'], outputs: ['x_prev'] },
      { opType: 'Sub', inputs: ['x_next', 'x_prev'], outputs: ['diff'] },
      { opType: 'Abs', inputs: ['diff'], outputs: ['abs_diff'] },
      { opType: 'ReduceMean', inputs: ['abs_diff'], outputs: ['f_mad'], attributes: { axes: attr.is([1]), keepdims: attr.i(1) } },
      { opType: 'Concat', inputs: ['f_mav', 'f_ms', 'f_mad'], outputs: ['features'], attributes: { axis: attr.i(1) } },
      { opType: 'Gemm', inputs: ['features', 'W', 'B'], outputs: ['logit'] },
    ],
  });
}

export function faceModelBytes(): Uint8Array {
  return buildOnnxModel({
    graphName: 'test-face',
    inputs: [{ name: 'image', dtype: 'float32', shape: ['batch', 3, FACE_SIZE, FACE_SIZE] }],
    outputs: [{ name: 'logit', dtype: 'float32', shape: ['batch', 1] }],
    initializers: [
      { name: 'W', dtype: 'float32', dims: [3, 1], values: FACE_WEIGHTS },
      { name: 'B', dtype: 'float32', dims: [1], values: [FACE_BIAS] },
    ],
    nodes: [
      { opType: 'GlobalAveragePool', inputs: ['image'], outputs: ['pooled'] },
      { opType: 'Flatten', inputs: ['pooled'], outputs: ['flat'], attributes: { axis: attr.i(1) } },
      { opType: 'Gemm', inputs: ['flat', 'W', 'B'], outputs: ['logit'] },
    ],
  });
}

/** The voice graph's formula in plain JS, on an already preprocessed waveform. */
export function voiceLogitJs(x: Float32Array): number {
  let mav = 0;
  let ms = 0;
  let mad = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    mav += Math.abs(v);
    ms += v * v;
    if (i > 0) mad += Math.abs(v - x[i - 1]!);
  }
  mav /= x.length;
  ms /= x.length;
  mad /= Math.max(1, x.length - 1);
  return VOICE_WEIGHTS[0] * mav + VOICE_WEIGHTS[1] * ms + VOICE_WEIGHTS[2] * mad + VOICE_BIAS;
}

/** The face graph's formula in plain JS, on one CHW float image. */
export function faceLogitJs(chw: Float32Array, width = FACE_SIZE, height = FACE_SIZE): number {
  const plane = width * height;
  let logit = FACE_BIAS;
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    for (let i = 0; i < plane; i++) sum += chw[c * plane + i]!;
    logit += FACE_WEIGHTS[c]! * (sum / plane);
  }
  return logit;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface BuiltModel {
  id: string;
  dir: string;
  modelPath: string;
  manifest: Manifest;
}

const common = {
  schemaVersion: 1 as const,
  version: '0.0.1-test',
  file: 'model.onnx',
  output: { meaning: 'logit; higher means more likely fake (test model: signal features, not a detector)' },
  license: 'Apache-2.0',
  dataCard: 'No training data: fixed hand-picked weights, built by detectors/testing/testModels.ts for tests.',
  training: { command: 'node --import tsx detectors/testing/testModels.ts', seconds: 0, metrics: {} },
};

export function voiceManifest(sha256: string, id = 'test-voice'): Manifest {
  return {
    ...common,
    id,
    task: 'voice-antispoof',
    sha256,
    inputs: [{ name: 'waveform', dtype: 'float32', shape: ['batch', 'samples'] }],
    outputs: [{ name: 'logit', dtype: 'float32', shape: ['batch', 1] }],
    audio: {
      sampleRate: 16000,
      minSeconds: 0.5,
      maxSeconds: 4.0,
      preprocessing: 'mono float32 in [-1,1], per-window mean removal and RMS normalisation to -26 dBFS',
    },
    calibration: { method: 'logistic', a: 1.5, b: -0.25, fittedOn: 'none (test model)' },
  };
}

export function faceManifest(sha256: string, id = 'test-face'): Manifest {
  return {
    ...common,
    id,
    task: 'face-forgery',
    sha256,
    inputs: [{ name: 'image', dtype: 'float32', shape: ['batch', 3, FACE_SIZE, FACE_SIZE] }],
    outputs: [{ name: 'logit', dtype: 'float32', shape: ['batch', 1] }],
    image: {
      width: FACE_SIZE,
      height: FACE_SIZE,
      layout: 'NCHW',
      channels: 'RGB',
      scale: 1 / 255,
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
      crop: 'square box around the face detector box, enlarged 1.3x, centred, resized to 256x256',
    },
    calibration: { method: 'logistic', a: 0.8, b: 0.1, fittedOn: 'none (test model)' },
  };
}

export function writeModel(root: string, manifest: Manifest, bytes: Uint8Array): BuiltModel {
  const dir = path.join(root, manifest.id);
  fs.mkdirSync(dir, { recursive: true });
  const modelPath = path.join(dir, manifest.file);
  fs.writeFileSync(modelPath, bytes);
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return { id: manifest.id, dir, modelPath, manifest };
}

/** Writes test-voice and test-face (model.onnx + manifest.json) under `root`. */
export function buildTestModels(root: string): { voice: BuiltModel; face: BuiltModel } {
  const v = voiceModelBytes();
  const f = faceModelBytes();
  return {
    voice: writeModel(root, voiceManifest(sha256Hex(v)), v),
    face: writeModel(root, faceManifest(sha256Hex(f)), f),
  };
}

// `node --import tsx detectors/testing/testModels.ts [dir]` writes them for the dev set-up.
if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const out = path.resolve(process.argv[2] ?? 'detectors/models');
  const built = buildTestModels(out);
  process.stdout.write(JSON.stringify({ voice: built.voice.dir, face: built.face.dir }) + '\n');
}
