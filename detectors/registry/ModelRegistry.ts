/**
 * Scans a models directory (`<dir>/<id>/manifest.json` + model file) and decides, for
 * each detector, whether it is `available` or `unavailable` with a coded error:
 *
 *   ERR_MODEL_MANIFEST  manifest missing, not JSON, fails the schema, or id != folder name
 *   ERR_MODEL_MISSING   the model file named by the manifest does not exist
 *   ERR_MODEL_HASH      sha256 of the file differs from the manifest
 *   ERR_MODEL_SHAPE     onnxruntime cannot load it, or input/output names, dtypes or
 *                       ranks differ from the manifest (fixed dims must match too)
 *
 * `load()` never throws. Loading cost: hashing and one onnxruntime session per model are
 * created on the calling thread at start-up (a few ms for small models, up to about a
 * second for large ones); the sessions are released right after the check, and the
 * inference workers open their own. Call `load()` again to rescan.
 */
import fs from 'node:fs';
import path from 'node:path';
import type ort from 'onnxruntime-node';
import { DfdError, toDfdError, type ErrorCode } from '../../kernel/errors.js';
import { createLogger } from '../../kernel/log.js';
import { repoRoot } from '../../kernel/paths.js';
import { readModelFiles, type ModelFiles } from './ModelFiles.js';
import { openModelSession } from './openModelSession.js';
import type { Manifest, ModelTask, TensorSpec } from './Manifest.js';

const log = createLogger('model-registry');

export interface ModelRegistryOptions {
  /** Folder holding one sub-folder per model. */
  dir: string;
  /** Open an onnxruntime session to check names and ranks. Default true. */
  verifySession: boolean;
}

export const defaultModelRegistryOptions: ModelRegistryOptions = {
  dir: path.join(repoRoot, 'detectors', 'models'),
  verifySession: true,
};

/** A detector that passed every check; what the inference workers need to open it. */
export interface AvailableModel {
  id: string;
  dir: string;
  modelPath: string;
  manifest: Manifest;
}

export interface DetectorStatus {
  id: string;
  dir: string;
  available: boolean;
  version?: string;
  task?: ModelTask;
  error?: { code: ErrorCode; message: string };
}

export class ModelRegistry {
  readonly options: ModelRegistryOptions;
  private statuses: DetectorStatus[] = [];
  private models = new Map<string, AvailableModel>();

  constructor(options: Partial<ModelRegistryOptions> = {}) {
    this.options = { ...defaultModelRegistryOptions, ...options };
  }

  /** Scans the directory. Never throws: problems become unavailable entries. */
  async load(): Promise<DetectorStatus[]> {
    const statuses: DetectorStatus[] = [];
    const models = new Map<string, AvailableModel>();
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(this.options.dir, { withFileTypes: true });
    } catch (e) {
      log.warn('models directory unreadable', { dir: this.options.dir, error: e });
    }
    for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const dir = path.join(this.options.dir, entry.name);
      try {
        const model = await this.check(entry.name, dir);
        models.set(model.id, model);
        statuses.push({ id: model.id, dir, available: true, version: model.manifest.version, task: model.manifest.task });
        log.info('detector available', { id: model.id, version: model.manifest.version, task: model.manifest.task });
      } catch (e) {
        const err = toDfdError(e);
        statuses.push({ id: entry.name, dir, available: false, error: { code: err.code, message: err.message } });
        log.warn('detector unavailable', { id: entry.name, code: err.code, error: err });
      }
    }
    this.statuses = statuses;
    this.models = models;
    return this.status();
  }

  /** For /healthz: one entry per model folder. */
  status(): DetectorStatus[] {
    return this.statuses.map((s) => ({ ...s, ...(s.error ? { error: { ...s.error } } : {}) }));
  }

  available(): AvailableModel[] {
    return [...this.models.values()];
  }

  /** Throws ERR_MODEL_UNAVAILABLE when the detector is absent or failed its checks. */
  get(id: string): AvailableModel {
    const m = this.models.get(id);
    if (!m) throw new DfdError('ERR_MODEL_UNAVAILABLE', undefined, { id });
    return m;
  }

  private async check(folder: string, dir: string): Promise<AvailableModel> {
    const files = await readModelFiles(dir);
    const { manifest, modelPath } = files;
    if (manifest.id !== folder) throw new DfdError('ERR_MODEL_MANIFEST', 'manifest id differs from its folder name', { folder });
    if (this.options.verifySession) await verifySession(files);
    return { id: manifest.id, dir, modelPath, manifest };
  }
}

function shapeMismatch(kind: 'input' | 'output', spec: readonly TensorSpec[], meta: readonly ort.InferenceSession.ValueMetadata[]): string | undefined {
  if (spec.length !== meta.length) return `${kind} count ${meta.length}, manifest says ${spec.length}`;
  for (let i = 0; i < spec.length; i++) {
    const s = spec[i]!;
    const m = meta[i]!;
    if (s.name !== m.name) return `${kind} ${i} is named "${m.name}", manifest says "${s.name}"`;
    if (!m.isTensor) return `${kind} "${m.name}" is not a tensor`;
    if (m.type !== s.dtype) return `${kind} "${m.name}" has dtype ${m.type}, manifest says ${s.dtype}`;
    // An empty shape means the model does not declare one: nothing to compare.
    if (m.shape.length === 0) continue;
    if (m.shape.length !== s.shape.length) return `${kind} "${m.name}" has rank ${m.shape.length}, manifest says ${s.shape.length}`;
    for (let d = 0; d < s.shape.length; d++) {
      const a = s.shape[d];
      const b = m.shape[d];
      if (typeof a === 'number' && typeof b === 'number' && a !== b) return `${kind} "${m.name}" dim ${d} is ${b}, manifest says ${a}`;
    }
  }
  return undefined;
}

async function verifySession(files: ModelFiles): Promise<void> {
  const { manifest } = files;
  const { session } = await openModelSession(files, { graphOptimizationLevel: 'disabled' });
  try {
    const problem = shapeMismatch('input', manifest.inputs, session.inputMetadata) ?? shapeMismatch('output', manifest.outputs, session.outputMetadata);
    if (problem) throw new DfdError('ERR_MODEL_SHAPE', problem);
  } finally {
    await session.release();
  }
}
