/**
 * Opens one face model folder (`model.onnx` + `manifest.json`, see detectors/registry/Manifest.ts)
 * as an onnxruntime session, after checking the manifest schema, the file hash and the
 * input/output names. Used by BlazeFace and FaceMesh; safe inside a worker thread.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type ort from 'onnxruntime-node';
import { DfdError } from '../../kernel/errors.js';
import type { Manifest, ModelTask } from '../registry/Manifest.js';
import { openModelSession } from '../registry/openModelSession.js';

export interface FaceModelSessionOptions {
  /** Threads inside one operator. 1 keeps one analysis worker on one core. */
  intraOpNumThreads: number;
  interOpNumThreads: number;
}

export const defaultFaceModelSessionOptions: FaceModelSessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
};

export interface LoadedFaceModel {
  manifest: Manifest;
  session: ort.InferenceSession;
}

/** Folder of a model committed in this repository, e.g. modelDir('face-detect'). */
export function modelDir(id: string): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'models', id);
}

export async function loadFaceModel(dir: string, task: ModelTask, opts: FaceModelSessionOptions): Promise<LoadedFaceModel> {
  const { manifest, session } = await openModelSession(dir, { task, intraOpNumThreads: opts.intraOpNumThreads, interOpNumThreads: opts.interOpNumThreads });
  return { manifest, session };
}

/** Reads a float32 output by name; ERR_INFERENCE_FAILED when absent or the wrong size. */
export function outputData(out: ort.InferenceSession.OnnxValueMapType, name: string, minLength: number): Float32Array {
  const t = out[name];
  const data = t?.data;
  if (!(data instanceof Float32Array) || data.length < minLength) {
    throw new DfdError('ERR_INFERENCE_FAILED', 'unexpected model output', { output: name });
  }
  return data;
}

/**
 * Runs async jobs one at a time, in call order. The models reuse one preallocated input
 * buffer, so overlapping calls on the same instance must not interleave.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const p = this.tail.then(job, job);
    this.tail = p.catch(() => undefined);
    return p;
  }
}
