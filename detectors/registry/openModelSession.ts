/**
 * The one way to open a detector model as an onnxruntime session: the model folder is read
 * and checked by readModelFiles (manifest schema, sha256), the task is the one the caller
 * expects, onnxruntime builds the session from the verified bytes (never from a path that
 * could have changed since), and the session's input and output names are the manifest's.
 * Every failure is a typed error (ERR_MODEL_MANIFEST, ERR_MODEL_MISSING, ERR_MODEL_HASH,
 * ERR_MODEL_SHAPE) and a session that fails a check is released. The service's face models,
 * the inference worker threads, the evaluation tools and the model tests all open models here.
 */
import ort from 'onnxruntime-node';
import { DfdError } from '../../kernel/errors.js';
import type { Manifest, ModelTask } from './Manifest.js';
import { readModelFiles, type ModelFiles } from './ModelFiles.js';

export interface ModelSessionOptions {
  /** The task the caller needs; another task is ERR_MODEL_MANIFEST. */
  task: ModelTask | undefined;
  intraOpNumThreads: number;
  interOpNumThreads: number;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode: 'sequential' | 'parallel';
  /** onnxruntime execution providers, in order of preference (pipeline/inference/protocol.ts executionProvidersFor). */
  executionProviders: readonly string[];
  /**
   * The sha256 the caller checked before (e.g. the registry, in another thread): the folder must still hold
   * that file, else ERR_MODEL_HASH (it changed on disk since).
   */
  expectSha256: string | undefined;
  /** onnxruntime's own log level for this session (0 verbose: which provider each node runs on); undefined: its default. */
  logSeverityLevel: 0 | 1 | 2 | 3 | 4 | undefined;
}

export const defaultModelSessionOptions: ModelSessionOptions = {
  task: undefined,
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  executionProviders: ['cpu'],
  expectSha256: undefined,
  logSeverityLevel: undefined,
};

export interface OpenModel {
  manifest: Manifest;
  modelPath: string;
  session: ort.InferenceSession;
}

/** Opens the model in `source` (a folder, or files already read and checked). */
export async function openModelSession(source: string | ModelFiles, options: Partial<ModelSessionOptions> = {}): Promise<OpenModel> {
  const o: ModelSessionOptions = { ...defaultModelSessionOptions, ...options };
  const files = typeof source === 'string' ? await readModelFiles(source) : source;
  const { manifest, bytes, modelPath } = files;
  if (o.task !== undefined && manifest.task !== o.task) throw new DfdError('ERR_MODEL_MANIFEST', `expected task ${o.task}`, { task: manifest.task });
  if (o.expectSha256 !== undefined && manifest.sha256 !== o.expectSha256) throw new DfdError('ERR_MODEL_HASH', 'the model folder changed since it was checked');
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: o.intraOpNumThreads,
      interOpNumThreads: o.interOpNumThreads,
      graphOptimizationLevel: o.graphOptimizationLevel,
      executionMode: o.executionMode,
      executionProviders: [...o.executionProviders],
      ...(o.logSeverityLevel !== undefined ? { logSeverityLevel: o.logSeverityLevel } : {}),
    });
  } catch (e) {
    // onnxruntime's own reason (a graph it cannot parse, a provider it cannot start: "Failed to get a WebGPU
    // adapter"), so the operator's log says why and not only that.
    throw new DfdError('ERR_MODEL_SHAPE', `onnxruntime cannot load the model: ${ortReason(e)}`, undefined, { cause: e });
  }
  const names = (specs: readonly { name: string }[]): string => specs.map((s) => s.name).join(',');
  if (names(manifest.inputs) !== session.inputNames.join(',') || names(manifest.outputs) !== session.outputNames.join(',')) {
    const q = (xs: readonly string[]): string => xs.map((x) => JSON.stringify(x)).join(', ');
    const err = new DfdError(
      'ERR_MODEL_SHAPE',
      `input or output names differ from the manifest: the model has inputs ${q(session.inputNames)} and outputs ${q(session.outputNames)}, the manifest says ${q(manifest.inputs.map((i) => i.name))} and ${q(manifest.outputs.map((i) => i.name))}`,
    );
    await session.release();
    throw err;
  }
  return { manifest, modelPath, session };
}

/** The last line of onnxruntime's message, without its source location and failed check, at most 300 characters. */
function ortReason(e: unknown): string {
  const text = (e instanceof Error ? e.message : String(e)).trim();
  const line = text.split('\n').pop() ?? '';
  return line.replace(/^.* was false\. /, '').slice(0, 300) || 'no reason given';
}
