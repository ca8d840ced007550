/**
 * Messages between InferencePool (main thread) and InferenceWorker (worker thread).
 * Plain objects and typed arrays only, so the same messages could travel over NATS to
 * a remote pool later.
 */
import type { Manifest } from '../../detectors/registry/Manifest.js';
import type { AnalysisWindow } from '../messages.js';

export interface WorkerModel {
  id: string;
  /** The model folder the registry checked (opened again, and checked again, by the worker). */
  dir: string;
  modelPath: string;
  manifest: Manifest;
}

export interface InitMessage {
  type: 'init';
  models: WorkerModel[];
  intraOpNumThreads: number;
  interOpNumThreads: number;
  /** Where the sessions run (InferencePool's executionProvider). */
  executionProvider: ExecutionProvider;
  /** Model ids that stay on the CPU whatever `executionProvider` says (InferencePool's cpuModels). */
  cpuModels: string[];
}

/**
 * onnxruntime execution providers the service can select: `cpu` (default), or `webgpu`, the
 * GPU backend bundled in onnxruntime-node (Dawn: Vulkan on Linux), with CPU for operators it
 * lacks. A machine without a WebGPU adapter cannot open the models on `webgpu`: the detectors
 * are reported unavailable (no silent fallback to CPU).
 */
export const ExecutionProviders = ['cpu', 'webgpu'] as const;
export type ExecutionProvider = (typeof ExecutionProviders)[number];

/** The onnxruntime `executionProviders` list for a provider. */
export function executionProvidersFor(ep: ExecutionProvider): string[] {
  return ep === 'webgpu' ? ['webgpu', 'cpu'] : ['cpu'];
}

export interface RunMessage {
  type: 'run';
  jobId: number;
  modelId: string;
  windows: AnalysisWindow[];
}

/** Finish the current job, release the sessions and end the thread. */
export interface CloseMessage {
  type: 'close';
}

/**
 * Chaos hook: exit abruptly between jobs, as a crash would. (Terminating a worker while
 * onnxruntime runs aborts the whole process, so a crash is never simulated mid-run.)
 */
export interface CrashMessage {
  type: 'crash';
}

export type ToWorker = InitMessage | RunMessage | CloseMessage | CrashMessage;

export interface ReadyMessage {
  type: 'ready';
  /** Models the worker could not open, with the reason. */
  failed: { id: string; message: string }[];
}

export interface ResultMessage {
  type: 'result';
  jobId: number;
  /** One (frame-averaged for faces) logit per window, in order (empty for an embedding model). */
  logits: number[];
  /** Embedding models (task speaker-embed): `dim` floats per window, in order. */
  vectors?: Float32Array;
  dim?: number;
  /** Worker compute time for the whole batch: preprocessing + session.run. */
  inferenceMs: number;
  /** Rows in the tensor(s) run (frames for faces, windows for audio). */
  rows: number;
}

export interface JobErrorMessage {
  type: 'job-error';
  jobId: number;
  message: string;
}

export type FromWorker = ReadyMessage | ResultMessage | JobErrorMessage;
