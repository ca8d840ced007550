/**
 * Which model an evaluation tool runs: a model folder (with manifest.json) or an id under the
 * models directory, loaded and checked by the service's ModelRegistry (manifest schema,
 * sha256, tensor names), and refused when its task does not fit the list being scored.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DfdError } from '../../kernel/errors.js';
import type { ModelTask } from '../registry/Manifest.js';
import { ModelRegistry, type AvailableModel } from '../registry/ModelRegistry.js';
import type { EvalList } from './report.js';

const TASK_FOR: Record<EvalList['kind'], ModelTask> = { audio: 'voice-antispoof', video: 'face-forgery' };
/** Tasks a model may have for each list kind: face-pad models take the same face windows as face-forgery. */
const TASKS_FOR: Record<EvalList['kind'], readonly ModelTask[]> = { audio: ['voice-antispoof'], video: ['face-forgery', 'face-pad'] };

/** `spec`: a model folder (with manifest.json) or an id under `modelsDir`. Checked by ModelRegistry. */
export function resolveModel(spec: string | undefined, kind: EvalList['kind'], modelsDir: string): Promise<AvailableModel> {
  return resolveModelOf(spec ?? TASK_FOR[kind], TASKS_FOR[kind], modelsDir, `the list holds ${kind} labels`);
}

/** Every task the inference worker runs on service windows (what `npm run eval -- --bench` can time). */
export const WORKER_TASKS: readonly ModelTask[] = ['voice-antispoof', 'speaker-embed', 'face-forgery', 'face-pad'];

/** As resolveModel, for a model whose task is one of `tasks` (ERR_CONFIG otherwise). */
export async function resolveModelOf(spec: string, tasks: readonly ModelTask[], modelsDir: string, why = `expected one of ${tasks.join(', ')}`): Promise<AvailableModel> {
  let dir = modelsDir;
  let id = spec;
  if (fs.existsSync(path.join(spec, 'manifest.json'))) {
    const abs = path.resolve(spec);
    dir = path.dirname(abs);
    id = path.basename(abs);
  }
  const registry = new ModelRegistry({ dir });
  const statuses = await registry.load();
  const st = statuses.find((s) => s.id === id);
  if (!st) throw new DfdError('ERR_MODEL_UNAVAILABLE', 'no such model folder', { id, dir });
  if (!st.available) throw new DfdError('ERR_MODEL_UNAVAILABLE', st.error?.message ?? 'model failed its checks', { id, cause: st.error?.code });
  const model = registry.get(id);
  if (!tasks.includes(model.manifest.task)) throw new DfdError('ERR_CONFIG', `${why} but the model's task is ${model.manifest.task}`, { id });
  return model;
}
